"""Rendering a scene into frames: a pure function of (scene, size, frames)."""

from __future__ import annotations

import numpy as np

from vidstyle.data.toy.backgrounds import render_background
from vidstyle.data.toy.palette import COLOURS
from vidstyle.data.toy.scene import Scene
from vidstyle.data.toy.shapes import draw_shape


def render_scene(scene: Scene, size: int, frames: int) -> np.ndarray:
    """``uint8 [frames, size, size, 3]`` RGB: the motion spans the whole clip whatever ``frames`` is.

    Frame ``i`` shows clip progress ``i / (frames - 1)`` (0 for a single frame). Things are drawn in order, so
    later ones cover earlier ones.
    """
    if size < 1 or frames < 1:
        raise ValueError(f"size and frames must be positive, got size={size}, frames={frames}")
    background = render_background(scene.background, size)
    out = np.empty((frames, size, size, 3), dtype=np.uint8)
    for i in range(frames):
        progress = i / (frames - 1) if frames > 1 else 0.0
        frame = background.copy()
        for thing in scene.things:
            x, y, radius, angle = thing.at(progress)
            draw_shape(frame, thing.shape, COLOURS[thing.colour], x * size, y * size, radius * size, angle)
        out[i] = frame
    return out
