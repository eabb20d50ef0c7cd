"""Line styles: pencil hatching, ink outlines with flat fills, neon edges, blueprint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidstyle.data.toy.styles.base import (
    StyleOperator,
    blur,
    canny,
    edge_strength,
    grid_coords,
    luma,
    mix,
    pixels,
    rgb,
    saturate,
    smooth_noise,
    thicken,
)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class PencilHatch(StyleOperator):
    """Graphite hatching on paper: darker tones add hatch layers at more angles; edges get a pencil outline."""

    name: ClassVar[str] = "pencil_hatch"
    angles: tuple[float, ...] = (45.0, -45.0, 0.0)
    thresholds: tuple[float, ...] = (0.25, 0.5, 0.72)
    spacing: float = 0.06
    paper: Colour = (245, 240, 225)
    graphite: Colour = (60, 60, 70)

    @property
    def description(self) -> str:
        return "pencil drawing with graphite cross-hatching on cream paper"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        spacing = pixels(height, width, self.spacing, minimum=3)
        x, y = grid_coords(height, width)
        layers = []
        for angle in self.angles:
            theta = np.radians(angle + rng.uniform(-4.0, 4.0))
            wobble = (smooth_noise(rng, height, width, 4) - 0.5) * spacing * 0.6
            t = x * np.cos(theta) + y * np.sin(theta) + wobble + rng.uniform(0, spacing)
            distance = np.abs((t / spacing) % 1.0 - 0.5) * spacing  # to the nearest line, pixels
            layers.append(np.clip(0.5 + max(0.5, spacing * 0.18) - (spacing / 2 - distance), 0.0, 1.0))
        grain = 1.0 - 0.06 * rng.random((height, width)).astype(np.float32)
        return np.stack(layers + [grain])

    def render(self, image: np.ndarray, state: np.ndarray) -> np.ndarray:
        darkness = 1.0 - blur(luma(image), 0.8)
        light = np.ones_like(darkness)
        for layer, threshold in zip(state[:-1], self.thresholds, strict=True):
            light *= 1.0 - 0.8 * layer * np.clip((darkness - threshold) * 8.0, 0.0, 1.0)
        ink = np.maximum(1.0 - light, np.clip(edge_strength(image) * 2.5, 0.0, 0.9))
        paper = rgb(self.paper) * state[-1][..., None]
        return mix(paper, np.broadcast_to(rgb(self.graphite), paper.shape), ink)


@dataclass(frozen=True)
class InkOutline(StyleOperator):
    """Cel shading: smoothed colours quantised to a few levels per channel, bold black outlines."""

    name: ClassVar[str] = "ink_outline"
    levels: int = 3
    thickness: float = 0.04

    @property
    def description(self) -> str:
        return "cel-shaded cartoon with bold black ink outlines and flat colour fills"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> int:
        return pixels(height, width, self.thickness, minimum=1)

    def render(self, image: np.ndarray, thickness: int) -> np.ndarray:
        smooth = cv2.bilateralFilter(image, 5, 0.15, 2.0)
        flat = np.round(saturate(smooth, 1.3) * (self.levels - 1)) / (self.levels - 1)
        return mix(flat, np.zeros_like(flat), thicken(canny(image), thickness))


@dataclass(frozen=True)
class NeonEdges(StyleOperator):
    """Edges in the saturated hue of the source (cyan on grey edges), glowing on black."""

    name: ClassVar[str] = "neon"
    glow: float = 0.05
    fallback: Colour = (0, 255, 255)

    @property
    def description(self) -> str:
        return "glowing neon outlines on a black background"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> float:
        return max(1.0, min(height, width) * self.glow)

    def render(self, image: np.ndarray, sigma: float) -> np.ndarray:
        strength = np.clip(edge_strength(image) * 2.0, 0.0, 1.0)
        hsv = cv2.cvtColor(blur(image, 1.0), cv2.COLOR_RGB2HSV)
        vivid = cv2.cvtColor(np.stack([hsv[..., 0], np.ones_like(strength), np.ones_like(strength)], axis=2),
                             cv2.COLOR_HSV2RGB)
        vivid = np.where((hsv[..., 1] < 0.2)[..., None], rgb(self.fallback), vivid)
        lines = vivid * strength[..., None]
        return lines + 1.5 * blur(lines, sigma) + 0.3 * strength[..., None]


@dataclass(frozen=True)
class Blueprint(StyleOperator):
    """White line drawing of the edges on blueprint blue with a fixed faint grid."""

    name: ClassVar[str] = "blueprint"
    paper: Colour = (20, 65, 140)
    grid: float = 0.125

    @property
    def description(self) -> str:
        return "white technical line drawing on a blueprint grid"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        step = pixels(height, width, self.grid, minimum=4)
        x, y = grid_coords(height, width)
        ox, oy = rng.integers(0, step, 2)
        on_grid = (((x - 0.5 + ox) % step) < 1) | (((y - 0.5 + oy) % step) < 1)
        return on_grid.astype(np.float32) * 0.25

    def render(self, image: np.ndarray, grid: np.ndarray) -> np.ndarray:
        paper = np.broadcast_to(rgb(self.paper), image.shape) * (0.9 + 0.2 * blur(luma(image), 2.0))[..., None]
        lines = np.clip(blur(canny(image, 30, 80), 0.5) * 1.6, 0.0, 1.0)
        return mix(mix(paper, np.ones_like(paper), grid), np.ones_like(paper), lines)
