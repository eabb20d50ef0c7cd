"""Rendering a :class:`Background`: a two-colour mix field, anti-aliased and independent of the frame size."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidstyle.data.toy.palette import COLOURS
from vidstyle.data.toy.scene import Background


def _soft(wave: np.ndarray, slope: float) -> np.ndarray:
    """Turn a wave with zero crossings of slope ``slope`` (per pixel) into a 0/1 mask with ~1 px soft edges."""
    return np.clip(0.5 + wave / (2.0 * slope), 0.0, 1.0)


def mix_field(background: Background, size: int) -> np.ndarray:
    """``float32 [size, size]`` in [0, 1]: 0 shows ``colour_a``, 1 ``colour_b``."""
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    u, v = np.meshgrid(coords, coords)  # x to the right, y down, centred
    theta = math.radians(background.angle)
    along = u * math.cos(theta) + v * math.sin(theta)
    across = -u * math.sin(theta) + v * math.cos(theta)
    slope = 2.0 * math.pi / (background.period * size)  # of sin(2 pi t / period) per pixel
    kind = background.kind
    if kind == "stripes":
        return _soft(np.sin(2 * np.pi * along / background.period), slope)
    if kind == "checker":
        return _soft(np.sin(2 * np.pi * along / background.period) * np.sin(2 * np.pi * across / background.period),
                     slope * 0.5)
    if kind == "rings":
        cx, cy = background.centre
        radius = np.hypot(u - (cx - 0.5), v - (cy - 0.5))
        return _soft(np.sin(2 * np.pi * radius / background.period), slope)
    if kind == "blobs":
        grid = np.random.default_rng(background.noise_seed).random((5, 5)).astype(np.float32)
        smooth = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        return np.clip(0.5 + (smooth - 0.5) * 6.0, 0.0, 1.0)
    if kind == "gradient":
        return np.clip(0.5 + along / math.sqrt(2.0), 0.0, 1.0)
    raise ValueError(f"unknown background kind {kind!r}")


def render_background(background: Background, size: int) -> np.ndarray:
    """``uint8 [size, size, 3]`` RGB."""
    mix = mix_field(background, size)[..., None]
    a = np.array(COLOURS[background.colour_a], dtype=np.float32)
    b = np.array(COLOURS[background.colour_b], dtype=np.float32)
    return np.clip(np.rint(a * (1.0 - mix) + b * mix), 0, 255).astype(np.uint8)
