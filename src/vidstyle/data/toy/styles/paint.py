"""Paint styles: watercolour wash and oil strokes. Paper, bleed and stroke fields are fixed per video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidstyle.data.toy.styles.base import (
    StyleOperator,
    blur,
    cell_means,
    grid_coords,
    luma,
    pixels,
    saturate,
    smooth_noise,
)


@dataclass(frozen=True)
class Watercolour(StyleOperator):
    """Colours pushed by a fixed bleed field, blurred and lightened, darker at pigment rims, on grainy paper."""

    name: ClassVar[str] = "watercolour"
    bleed: float = 0.035
    softness: float = 0.025
    strength: float = 0.75

    @property
    def description(self) -> str:
        return "soft watercolour wash with bleeding edges and paper grain"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        x, y = grid_coords(height, width)
        amount = max(1.0, min(height, width) * self.bleed)
        map_x = x - 0.5 + (smooth_noise(rng, height, width, 6) - 0.5) * 2.0 * amount
        map_y = y - 0.5 + (smooth_noise(rng, height, width, 6) - 0.5) * 2.0 * amount
        density = 0.8 + 0.4 * smooth_noise(rng, height, width, 3)
        grain = 0.85 + 0.15 * blur(rng.random((height, width)).astype(np.float32), 0.7)
        sigma = max(0.8, min(height, width) * self.softness)
        return map_x, map_y, (density * grain).astype(np.float32), np.float32(sigma)

    def render(self, image: np.ndarray, state: tuple[np.ndarray, ...]) -> np.ndarray:
        map_x, map_y, paper, sigma = state
        bled = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        wash = blur(bled, float(sigma))
        rims = np.abs(luma(wash) - luma(blur(wash, 2.0 * float(sigma))))
        pigment = (1.0 - wash) * self.strength * paper[..., None] + 1.2 * rims[..., None]
        return 1.0 - pigment * 0.9


@dataclass(frozen=True)
class OilStrokes(StyleOperator):
    """Fixed brush strokes along a smooth flow field, each filled with the mean colour under it, lit as relief."""

    name: ClassVar[str] = "oil"
    spacing: float = 0.05
    length: float = 2.6
    relief: float = 0.6

    @property
    def description(self) -> str:
        return "thick impasto oil painting with visible directional brush strokes"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, int, np.ndarray]:
        spacing = pixels(height, width, self.spacing, minimum=2)
        flow = smooth_noise(rng, height, width, 3) * 2.0 * np.pi
        ys, xs = np.mgrid[0:height:spacing, 0:width:spacing]
        count = xs.size
        px = np.clip(xs.ravel() + rng.uniform(0, spacing, count), 0, width - 1)
        py = np.clip(ys.ravel() + rng.uniform(0, spacing, count), 0, height - 1)
        labels = np.full((height, width), -1.0, dtype=np.float32)
        height_map = np.zeros((height, width), dtype=np.float32)
        half, thickness = self.length * spacing / 2, max(1, int(round(spacing * 1.1)))
        for i in rng.permutation(count):
            angle = flow[int(py[i]), int(px[i])] + rng.normal(0.0, 0.2)
            dx, dy = half * np.cos(angle), half * np.sin(angle)
            ends = (int(round(px[i] - dx)), int(round(py[i] - dy))), (int(round(px[i] + dx)), int(round(py[i] + dy)))
            cv2.line(labels, *ends, float(i), thickness)
            cv2.line(height_map, *ends, float(rng.uniform(0.3, 1.0)), thickness)
        labels = labels.astype(np.int64)
        gaps = labels < 0
        labels[gaps] = count + (np.arange(gaps.sum()) if gaps.any() else 0)  # uncovered pixels keep their colour
        texture = blur(height_map + 0.25 * rng.random((height, width)).astype(np.float32), 0.6)
        shade = cv2.Sobel(texture, cv2.CV_32F, 1, 0, ksize=3) - cv2.Sobel(texture, cv2.CV_32F, 0, 1, ksize=3)
        return labels, int(labels.max()) + 1, (1.0 + self.relief * np.clip(shade, -1.0, 1.0) * 0.5).astype(np.float32)

    def render(self, image: np.ndarray, state: tuple[np.ndarray, int, np.ndarray]) -> np.ndarray:
        labels, count, shade = state
        paint = saturate(cell_means(image, labels, count), 1.3)[labels]
        return paint * shade[..., None]
