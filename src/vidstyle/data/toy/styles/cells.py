"""Cell styles: pixel mosaic, stained glass, colour halftone. Cell layouts are fixed per video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidstyle.data.toy.styles.base import StyleOperator, blur, cell_means, grid_coords, mix, pixels, rgb, thicken

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Mosaic(StyleOperator):
    """Square blocks of their mean colour, quantised to a few levels per channel, with dark grout lines."""

    name: ClassVar[str] = "mosaic"
    block: float = 0.1
    levels: int = 5
    grout: float = 0.45

    @property
    def description(self) -> str:
        return "pixel-art mosaic of large square pixels in a limited palette"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, int, np.ndarray]:
        block = pixels(height, width, self.block, minimum=2)
        ox, oy = rng.integers(0, block, 2)
        rows, cols = np.arange(height) + oy, np.arange(width) + ox
        columns = (width + ox) // block + 1
        labels = (rows // block)[:, None] * columns + (cols // block)[None, :]
        edge = ((rows % block) == 0)[:, None] | ((cols % block) == 0)[None, :]
        grout = edge.astype(np.float32) * (self.grout if block >= 4 else 0.0)
        return labels, int(labels.max()) + 1, grout

    def render(self, image: np.ndarray, state: tuple[np.ndarray, int, np.ndarray]) -> np.ndarray:
        labels, count, grout = state
        means = np.round(cell_means(image, labels, count) * (self.levels - 1)) / (self.levels - 1)
        return means[labels] * (1.0 - grout)[..., None]


@dataclass(frozen=True)
class StainedGlass(StyleOperator):
    """Voronoi cells of saturated mean colour, each with a fixed glass shade, joined by dark lead lines."""

    name: ClassVar[str] = "stained_glass"
    cell: float = 0.12
    lead: float = 0.03
    lead_colour: Colour = (30, 25, 20)

    @property
    def description(self) -> str:
        return "stained glass of jewel-toned cells joined by dark lead lines"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, int, np.ndarray,
                                                                                  np.ndarray]:
        cell = pixels(height, width, self.cell, minimum=3)
        seeds = np.ones((height, width), dtype=np.uint8)
        for y in range(0, height, cell):
            for x in range(0, width, cell):
                sy = min(height - 1, y + int(rng.integers(cell)))
                sx = min(width - 1, x + int(rng.integers(cell)))
                seeds[sy, sx] = 0
        _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        labels = labels.astype(np.int64) - 1
        count = int(labels.max()) + 1
        border = np.zeros((height, width), dtype=np.float32)
        border[:, 1:] = np.maximum(border[:, 1:], labels[:, 1:] != labels[:, :-1])
        border[1:, :] = np.maximum(border[1:, :], labels[1:, :] != labels[:-1, :])
        leads = thicken(border, pixels(height, width, self.lead, minimum=1))
        shades = rng.uniform(0.85, 1.1, count).astype(np.float32)
        return labels, count, leads, shades

    def render(self, image: np.ndarray, state: tuple[np.ndarray, int, np.ndarray, np.ndarray]) -> np.ndarray:
        labels, count, leads, shades = state
        means = cell_means(image, labels, count)
        hsv = cv2.cvtColor(means[None], cv2.COLOR_RGB2HSV)[0]
        hsv[:, 1] = np.clip(hsv[:, 1] * 1.6 + 0.2, 0.0, 1.0)
        hsv[:, 2] = np.clip((0.35 + 0.65 * hsv[:, 2]) * shades, 0.0, 1.0)
        glass = cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0][labels]
        return mix(glass, np.broadcast_to(rgb(self.lead_colour), glass.shape), leads)


@dataclass(frozen=True)
class Halftone(StyleOperator):
    """Cyan, magenta and yellow dot screens at fixed angles; dot area follows the ink each channel needs."""

    name: ClassVar[str] = "halftone"
    cell: float = 0.08
    angles: tuple[float, float, float] = (15.0, 75.0, 0.0)
    paper: Colour = (250, 247, 235)

    @property
    def description(self) -> str:
        return "colour halftone print of cyan, magenta and yellow dot screens on paper"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        cell = pixels(height, width, self.cell, minimum=3)
        x, y = grid_coords(height, width)
        distances = []
        for angle in self.angles:
            theta = np.radians(angle)
            u = x * np.cos(theta) + y * np.sin(theta) + rng.uniform(0, cell)
            v = -x * np.sin(theta) + y * np.cos(theta) + rng.uniform(0, cell)
            distances.append(np.hypot(u % cell - cell / 2, v % cell - cell / 2))
        return np.stack(distances, axis=2).astype(np.float32), cell

    def render(self, image: np.ndarray, state: tuple[np.ndarray, int]) -> np.ndarray:
        distance, cell = state
        ink = 1.0 - blur(image, cell / 3)  # cyan absorbs red, magenta green, yellow blue
        radius = cell * np.sqrt(np.clip(ink, 0.0, 1.0) / np.pi)
        dots = np.clip(radius - distance + 0.5, 0.0, 1.0)
        return rgb(self.paper) * (1.0 - 0.92 * dots)


@dataclass(frozen=True)
class Pointillism(StyleOperator):
    """Round dabs at fixed jittered places, each in the boosted colour under it, on white canvas."""

    name: ClassVar[str] = "pointillism"
    spacing: float = 0.05
    canvas: Colour = (250, 248, 240)

    @property
    def description(self) -> str:
        return "pointillist painting of small dabs of pure colour on white canvas"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                  np.ndarray]:
        spacing = pixels(height, width, self.spacing, minimum=2)
        ys, xs = np.mgrid[0:height:spacing, 0:width:spacing]
        count = xs.size
        px = np.clip(xs.ravel() + rng.uniform(0, spacing, count), 0, width - 1)
        py = np.clip(ys.ravel() + rng.uniform(0, spacing, count), 0, height - 1)
        order = rng.permutation(count)
        radius = max(1, int(round(spacing * 0.6)))
        labels = np.full((height, width), -1.0, dtype=np.float32)
        for i in order:
            cv2.circle(labels, (int(px[i]), int(py[i])), radius, float(i), -1)
        jitter = rng.normal(0.0, 0.07, (count, 3)).astype(np.float32)
        return labels.astype(np.int64), py.astype(np.int64), px.astype(np.int64), jitter

    def render(self, image: np.ndarray, state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        labels, py, px, jitter = state
        soft = blur(image, 0.8)
        grey = soft[py, px].mean(axis=1, keepdims=True)
        colours = np.clip(grey + (soft[py, px] - grey) * 1.8 + jitter, 0.0, 1.0)
        canvas = np.broadcast_to(rgb(self.canvas), image.shape)
        return np.where((labels >= 0)[..., None], colours[np.maximum(labels, 0)], canvas)
