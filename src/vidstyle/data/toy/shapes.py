"""Anti-aliased drawing of one shape onto a frame (OpenCV, sub-pixel coordinates)."""

from __future__ import annotations

import math

import cv2
import numpy as np

SHIFT = 4  # OpenCV fixed-point bits: coordinates in 1/16 pixel
ONE = 1 << SHIFT


def _regular(count: int, start: float = -90.0) -> np.ndarray:
    """``[count, 2]`` unit-circle vertices, the first at ``start`` degrees."""
    angles = np.radians(start + 360.0 * np.arange(count) / count)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _star() -> np.ndarray:
    outer, inner = _regular(5), 0.45 * _regular(5, start=-90.0 + 36.0)
    return np.stack([outer, inner], axis=1).reshape(10, 2)


def _cross(arm: float = 0.34) -> np.ndarray:
    a, b = arm, 1.0 / math.sqrt(1.0 + arm * arm)  # arm tips on the unit circle
    return np.array([(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a), (-b, a),
                     (-b, -a), (-a, -a)])


# Polygons with circumradius 1, centred on the origin.
POLYGONS: dict[str, np.ndarray] = {
    "square": _regular(4, start=-45.0),
    "triangle": _regular(3),
    "star": _star(),
    "hexagon": _regular(6),
    "diamond": _regular(4) * np.array([0.7, 1.0]),
    "cross": _cross(),
}


def _fixed(value: float) -> int:
    return int(round(value * ONE))


def draw_shape(frame: np.ndarray, shape: str, colour: tuple[int, int, int], x: float, y: float, radius: float,
               angle: float) -> None:
    """Draw ``shape`` filled in ``colour`` onto ``frame`` (uint8 [H, W, 3], in place).

    ``x``, ``y`` and ``radius`` are in pixels; ``angle`` in degrees (positive turns clockwise on screen).
    """
    centre = (_fixed(x - 0.5), _fixed(y - 0.5))  # pixel centres sit at integer + 0.5
    if shape == "circle":
        cv2.circle(frame, centre, _fixed(radius), colour, -1, cv2.LINE_AA, SHIFT)
        return
    if shape == "ring":
        thickness = max(1, int(round(0.4 * radius)))
        cv2.circle(frame, centre, _fixed(radius - thickness / 2), colour, thickness, cv2.LINE_AA, SHIFT)
        return
    theta = math.radians(angle)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    points = POLYGONS[shape] @ rotation.T * radius + np.array([x - 0.5, y - 0.5])
    cv2.fillPoly(frame, [np.round(points * ONE).astype(np.int32)], colour, cv2.LINE_AA, SHIFT)
