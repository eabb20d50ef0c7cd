"""PSNR and SSIM against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from vidstyle.metrics.fidelity import PSNR_CAP, psnr, ssim


def test_psnr_closed_form_and_identity() -> None:
    a = np.full((2, 8, 8, 3), 100, dtype=np.uint8)
    b = a + np.uint8(5)  # MSE 25 everywhere
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 25))
    assert psnr(a, a) == PSNR_CAP


def test_ssim_of_constant_images_is_the_luminance_term() -> None:
    c1 = (0.01 * 255) ** 2
    a = np.full((1, 16, 16, 3), 80, dtype=np.uint8)
    b = np.full((1, 16, 16, 3), 120, dtype=np.uint8)
    assert ssim(a, b) == pytest.approx((2 * 80 * 120 + c1) / (80**2 + 120**2 + c1), abs=1e-9)
    noise = np.random.default_rng(0).integers(0, 256, (2, 24, 24, 3), dtype=np.uint8)
    assert ssim(noise, noise) == pytest.approx(1.0)
    assert ssim(noise, 255 - noise) < 0


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        psnr(np.zeros((1, 4, 4, 3), np.uint8), np.zeros((1, 4, 5, 3), np.uint8))
