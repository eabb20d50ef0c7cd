"""Visual anagrams (Geng et al., CVPR 2024) as StyleMaster's "model illusion" triplet data.

``views`` (exact pixel permutations), ``sampler`` (the multi-view denoising loop for a pixel-space UNet),
``stage1`` (a DeepFloyd-IF-like model by id or directory; ``tiny`` offline), ``builder`` (the dataset folder).
See ``docs/anagrams.md``. Names are imported lazily so that the views do not load diffusers.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "View": "views", "IdentityView": "views", "FlipView": "views", "RotateView": "views", "JigsawView": "views",
    "PatchPermuteView": "views", "PixelPermuteView": "views", "VIEW_NAMES": "views", "make_view": "views",
    "parse_views": "views",
    "AnagramResult": "sampler", "sample_anagram": "sampler", "to_uint8": "sampler",
    "IFStage1": "stage1", "DEFAULT_MODEL": "stage1", "load_stage1": "stage1",
    "build_tiny_stage1": "tiny",
    "AnagramBuilder": "builder", "AnagramSettings": "builder", "BuildReport": "builder",
    "plan_pair": "inputs", "read_lines": "inputs", "slugify": "inputs", "style_prompt": "inputs",
    "run_anagrams": "command",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"vidstyle.data.anagrams.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vidstyle.data.anagrams' has no attribute {name!r}")
