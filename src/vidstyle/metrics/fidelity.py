"""Pixel fidelity to a ground-truth video: PSNR and SSIM on uint8 frames ``[F, H, W, 3]``.

SSIM follows Wang et al. 2004 as commonly implemented (Gaussian window sigma 1.5, 11x11, K1 = 0.01,
K2 = 0.03, data range 255), computed per RGB channel and averaged, then averaged over frames.
"""

from __future__ import annotations

import cv2
import numpy as np

PSNR_CAP = 100.0  # identical frames: reported as this value instead of infinity


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    for v in (a, b):
        if not isinstance(v, np.ndarray) or v.dtype != np.uint8 or v.ndim != 4 or v.shape[-1] != 3:
            raise ValueError(f"expected uint8 videos [F, H, W, 3], got {getattr(v, 'dtype', type(v))} "
                             f"{getattr(v, 'shape', '')}")
    if a.shape != b.shape:
        raise ValueError(f"video shapes differ: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames of ``10 log10(255^2 / MSE)`` for uint8 videos ``[F, H, W, 3]`` (capped at 100 dB)."""
    _check_pair(a, b)
    mse = np.square(a.astype(np.float64) - b.astype(np.float64)).mean(axis=(1, 2, 3))  # [F]
    values = np.minimum(PSNR_CAP, 10 * np.log10(255.0**2 / np.maximum(mse, 1e-30)))
    return float(values.mean())


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two float64 images [H, W] with data range 255."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames and RGB channels of SSIM for uint8 videos ``[F, H, W, 3]``; 1 for identical videos."""
    _check_pair(a, b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    return float(np.mean([_ssim_channel(x[f, :, :, c], y[f, :, :, c]) for f in range(x.shape[0]) for c in range(3)]))
