"""Colour-mapping styles: posterised palette, sepia tint, negative, thermal false colour, pop art."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from vidstyle.data.toy.styles.base import (
    StyleOperator,
    blur,
    canny,
    grid_coords,
    luma,
    mix,
    pixels,
    rgb,
    thicken,
    to_uint8,
)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Posterise(StyleOperator):
    """Every pixel takes the nearest colour of a small fixed palette (after a light blur)."""

    name: ClassVar[str] = "posterise"
    palette: tuple[Colour, ...] = ((29, 43, 83), (0, 135, 130), (250, 235, 200), (245, 150, 50), (200, 40, 60))
    palette_words: str = "navy, teal, cream, orange and crimson"
    sigma: float = 0.6

    @property
    def description(self) -> str:
        return f"posterised into a flat retro palette of {self.palette_words}"

    def render(self, image: np.ndarray, state: Any) -> np.ndarray:
        colours = np.array(self.palette, dtype=np.float32) / 255.0
        soft = blur(image, self.sigma)
        distance = ((soft[:, :, None, :] - colours) ** 2).sum(axis=3)
        return colours[distance.argmin(axis=2)]


@dataclass(frozen=True)
class Sepia(StyleOperator):
    """A sepia tone with a dark vignette and a fixed film grain."""

    name: ClassVar[str] = "sepia"
    vignette: float = 0.55
    grain: float = 0.04

    @property
    def description(self) -> str:
        return "sepia-toned vintage photograph with a dark vignette and film grain"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        x, y = grid_coords(height, width)
        r2 = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2.0
        grain = rng.normal(0.0, self.grain, (height, width)).astype(np.float32)
        return np.stack([1.0 - self.vignette * r2, grain])

    def render(self, image: np.ndarray, state: np.ndarray) -> np.ndarray:
        matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32)
        return (image @ matrix.T) * state[0][..., None] + state[1][..., None]


@dataclass(frozen=True)
class Negative(StyleOperator):
    """Inverted colours; ``amount`` < 1 stops part way (0.5 is flat grey)."""

    name: ClassVar[str] = "negative"
    amount: float = 1.0

    @property
    def description(self) -> str:
        return "inverted colours like a photographic negative"

    def render(self, image: np.ndarray, state: Any) -> np.ndarray:
        return image + (1.0 - 2.0 * image) * self.amount


@dataclass(frozen=True)
class Thermal(StyleOperator):
    """Luminance through the inferno colour map, as a thermal camera shows heat."""

    name: ClassVar[str] = "thermal"
    sigma: float = 1.0

    @property
    def description(self) -> str:
        return "false-colour thermal camera image, hot yellow highlights over deep purple shadows"

    def render(self, image: np.ndarray, state: Any) -> np.ndarray:
        heat = to_uint8(blur(luma(image), self.sigma))
        bgr = cv2.applyColorMap(heat, cv2.COLORMAP_INFERNO)
        return bgr[..., ::-1].astype(np.float32) / 255.0


@dataclass(frozen=True)
class PopArt(StyleOperator):
    """Three luminance bands in bold flat colours; the middle band is a Ben-Day dot screen; black outlines."""

    name: ClassVar[str] = "pop_art"
    dark: Colour = (25, 30, 110)
    middle: Colour = (255, 60, 140)
    light: Colour = (255, 230, 0)
    cell: float = 0.06

    @property
    def description(self) -> str:
        return "pop-art poster in flat navy, hot pink and yellow with Ben-Day dots and black outlines"

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        cell = pixels(height, width, self.cell, minimum=3)
        x, y = grid_coords(height, width)
        ox, oy = rng.uniform(0, cell, 2)
        dx = (x + ox) % cell - cell / 2
        dy = (y + oy) % cell - cell / 2
        dots = np.clip(0.35 * cell - np.hypot(dx, dy) + 0.5, 0.0, 1.0)
        return dots.astype(np.float32), max(1, cell // 3)

    def render(self, image: np.ndarray, state: tuple[np.ndarray, int]) -> np.ndarray:
        dots, thickness = state
        level = blur(luma(image), 0.7)
        white = np.ones_like(image)
        middle = mix(white, np.broadcast_to(rgb(self.middle), image.shape), dots)
        out = np.where((level < 0.35)[..., None], rgb(self.dark), np.where((level < 0.65)[..., None], middle,
                                                                            rgb(self.light)))
        return mix(out, np.zeros_like(out), thicken(canny(image), thickness))
