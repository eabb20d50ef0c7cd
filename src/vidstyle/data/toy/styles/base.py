"""The style operator protocol and the image helpers the operators share.

An operator maps ``uint8 [F, H, W, 3]`` RGB frames to stylized frames of the same shape. Its randomness (a hatch
phase, a stroke field, a dot screen) is drawn once per video from the seed in :meth:`StyleOperator.prepare`, and
each frame is then stylized by a pure function of that frame and this fixed state: identical raw frames give
identical stylized frames, and the first frame does not depend on the others.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class StyleOperator:
    """A named, parametric style. Subclasses are frozen dataclasses whose fields are the parameters."""

    name: ClassVar[str] = ""

    @property
    def description(self) -> str:
        """Style words appended to the content caption in ``t_sty``."""
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict."""
        return asdict(self)

    def prepare(self, height: int, width: int, rng: np.random.Generator) -> Any:
        """The per-video state (fixed patterns), drawn from ``rng``; None by default."""
        return None

    def render(self, image: np.ndarray, state: Any) -> np.ndarray:
        """Stylize one ``float32 [H, W, 3]`` RGB image in [0, 1]; returns the same shape (clipped later)."""
        raise NotImplementedError

    def __call__(self, frames: np.ndarray, seed: int = 0) -> np.ndarray:
        """``uint8 [F, H, W, 3]`` -> ``uint8 [F, H, W, 3]``; the per-video state comes from ``seed``."""
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
            raise ValueError(f"frames must be uint8 [F, H, W, 3], got {getattr(frames, 'dtype', type(frames))} "
                             f"{getattr(frames, 'shape', '')}")
        state = self.prepare(frames.shape[1], frames.shape[2], np.random.default_rng(seed))
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            out[i] = to_uint8(self.render(frame.astype(np.float32) / 255.0, state))
        return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``float [..., 3]`` in [0, 1] -> ``uint8``, clipped and rounded."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """``float32 [H, W]`` luminance of a ``float32 [H, W, 3]`` RGB image."""
    return image @ LUMA


def pixels(height: int, width: int, fraction: float, minimum: int = 1) -> int:
    """A length of ``fraction`` of the shorter side in whole pixels, at least ``minimum``."""
    return max(minimum, int(round(min(height, width) * fraction)))


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with ``sigma`` pixels (reflected borders); a no-op for ``sigma <= 0``."""
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0 else image


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """``float32 [H, W]`` smooth noise in [0, 1] with about ``cells`` bumps across (resolution independent)."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    return np.clip(cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def grid_coords(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` pixel-centre coordinates, each ``float32 [H, W]``."""
    return np.meshgrid(np.arange(width, dtype=np.float32) + 0.5, np.arange(height, dtype=np.float32) + 0.5)


def edge_strength(image: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    """``float32 [H, W]`` colour edge strength, about 1 across a full black-to-white step."""
    soft = blur(image, sigma)
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy).max(axis=2) / 4.0


def canny(image: np.ndarray, low: int = 40, high: int = 100) -> np.ndarray:
    """``float32 [H, W]`` 0/1 Canny edges of the luminance."""
    return (cv2.Canny(to_uint8(luma(image)), low, high) > 0).astype(np.float32)


def thicken(mask: np.ndarray, thickness: int) -> np.ndarray:
    """Dilate a ``float32 [H, W]`` mask with a ``thickness``-pixel disc (unchanged for 1)."""
    if thickness <= 1:
        return mask
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness, thickness)))


def saturate(image: np.ndarray, amount: float) -> np.ndarray:
    """Push ``float32 [..., 3]`` colours away from their grey by ``amount`` (1 = unchanged)."""
    grey = (image @ LUMA)[..., None]
    return np.clip(grey + (image - grey) * amount, 0.0, 1.0)


def rgb(values: tuple[int, int, int]) -> np.ndarray:
    """A ``float32 [3]`` colour in [0, 1] from 0-255 integers."""
    return np.array(values, dtype=np.float32) / 255.0


def mix(a: np.ndarray, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``a`` where ``alpha`` is 0, ``b`` where 1; ``alpha`` is ``[H, W]``."""
    return a + (b - a) * alpha[..., None]


def cell_means(image: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """``float32 [count, 3]`` mean colour of each label of ``labels`` (int [H, W] in [0, count)); 0 if empty."""
    flat = labels.ravel()
    sums = np.stack([np.bincount(flat, image[..., c].ravel(), count) for c in range(3)], axis=1)
    return (sums / np.maximum(np.bincount(flat, minlength=count), 1)[:, None]).astype(np.float32)
