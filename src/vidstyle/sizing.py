"""The model's size rules: working resolution (multiples of 16) for an input of any size."""

from __future__ import annotations

import math

from vidstyle.errors import VidstyleInputError

MULTIPLE = 16
MAX_SIDE = 4096


def round_to_multiple(value: float, multiple: int = MULTIPLE) -> int:
    return max(multiple, math.floor(value / multiple + 0.5) * multiple)


def working_size(src_height: int, src_width: int, area: int, height: int | None = None,
                 width: int | None = None) -> tuple[int, int]:
    """The ``(height, width)`` the model runs at.

    Both given: each rounded to the nearest multiple of 16. One given: the other follows the input's
    aspect ratio. Neither: the input's aspect ratio at about ``area`` pixels (the preset's resolution).
    """
    for name, value in (("height", height), ("width", width)):
        if value is not None and not MULTIPLE <= value <= MAX_SIDE:
            raise VidstyleInputError(f"--{name} must be between {MULTIPLE} and {MAX_SIDE}, got {value}")
    aspect = src_width / src_height
    if height is None and width is None:
        height = math.sqrt(area / aspect)
        width = height * aspect
    elif height is None:
        height = width / aspect
    elif width is None:
        width = height * aspect
    return round_to_multiple(height), round_to_multiple(width)
