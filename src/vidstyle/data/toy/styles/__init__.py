"""The toy world's style operators by name: ``STYLES[name](frames, seed)`` and :func:`apply_style`."""

from __future__ import annotations

import numpy as np

from vidstyle.data.toy.styles.base import StyleOperator
from vidstyle.data.toy.styles.cells import Halftone, Mosaic, Pointillism, StainedGlass
from vidstyle.data.toy.styles.colour import Negative, PopArt, Posterise, Sepia, Thermal
from vidstyle.data.toy.styles.line import Blueprint, InkOutline, NeonEdges, PencilHatch
from vidstyle.data.toy.styles.paint import OilStrokes, Watercolour
from vidstyle.errors import VidstyleInputError

_OPERATORS: tuple[StyleOperator, ...] = (
    Posterise(), PencilHatch(), Mosaic(), InkOutline(), Halftone(), NeonEdges(), Watercolour(), Sepia(),
    Negative(), OilStrokes(), Pointillism(), PopArt(), Blueprint(), StainedGlass(), Thermal(),
)
STYLES: dict[str, StyleOperator] = {op.name: op for op in _OPERATORS}
# Held out of training by default: each combines ingredients that trained styles show on their own.
DEFAULT_HELDOUT: tuple[str, ...] = ("pop_art", "stained_glass")


def get_style(name: str) -> StyleOperator:
    """The operator called ``name``; VidstyleInputError listing the known names otherwise."""
    if name not in STYLES:
        raise VidstyleInputError(f"unknown toy style {name!r} (known: {', '.join(STYLES)})")
    return STYLES[name]


def apply_style(name: str, frames: np.ndarray, seed: int = 0) -> np.ndarray:
    """Stylize ``uint8 [F, H, W, 3]`` frames with the operator ``name``; the per-video patterns come from ``seed``."""
    return get_style(name)(frames, seed)


__all__ = ["DEFAULT_HELDOUT", "STYLES", "StyleOperator", "apply_style", "get_style"]
