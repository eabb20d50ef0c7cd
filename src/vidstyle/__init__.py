"""vidstyle: video stylization with diffusion models (DreamStyle and StyleMaster on Wan2.1).

Heavy names are imported lazily so that ``vidstyle --help`` does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_LAZY = {
    "DreamStylePipeline": "vidstyle.pipelines.dreamstyle",
    "StyleMasterPipeline": "vidstyle.pipelines.stylemaster",
    "TokenLoRAAdapter": "vidstyle.adapters.token_adapter",
    "TokenLoRAConfig": "vidstyle.adapters.token_adapter",
    "VidstyleInputError": "vidstyle.errors",
    "load_pipeline": "vidstyle.backbones.loading",
    "stylize_frames": "vidstyle.pipelines.long_video",
    "StyleJob": "vidstyle.pipelines.long_video",
}
__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")
