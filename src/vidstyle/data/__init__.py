"""The training dataset of vidstyle: a folder with ``manifest.jsonl`` and its media (see ``docs/dataset.md``).

Names are imported lazily so that reading a manifest does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "IMAGE_EXTENSIONS": "vidstyle.data.manifest",
    "MANIFEST_NAME": "vidstyle.data.manifest",
    "VIDEO_EXTENSIONS": "vidstyle.data.manifest",
    "ManifestReport": "vidstyle.data.manifest",
    "RowError": "vidstyle.data.manifest",
    "SampleRecord": "vidstyle.data.manifest",
    "read_manifest": "vidstyle.data.manifest",
    "write_manifest": "vidstyle.data.manifest",
    "Sample": "vidstyle.data.samples",
    "StyleDataset": "vidstyle.data.samples",
    "collate_samples": "vidstyle.data.samples",
    "load_sample": "vidstyle.data.samples",
    "wan_frame_count": "vidstyle.data.samples",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidstyle.data' has no attribute {name!r}")
