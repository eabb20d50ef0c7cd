"""StyleMaster's gray-tile control video: luma grayscale, blurred by a down/up-sampling round trip.

The tile keeps the layout and coarse shading of the content video but neither its colours nor its
fine texture, which the style is free to repaint. The pipeline VAE-encodes the result.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601


def gray_tile_control(pixels: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """``pixels [B, 3, F, H, W]`` in ``[-1, 1]`` -> gray tile ``[B, 3, F, H, W]`` (3 equal channels).

    Each frame's BT.601 luma is area-averaged down to ``ceil(H / factor) x ceil(W / factor)`` (any
    ``H, W``) and bilinearly upsampled back to ``H x W``. The weights sum to 1, so the range stays ``[-1, 1]``.
    """
    if pixels.ndim != 5 or pixels.shape[1] != 3:
        raise ValueError(f"expected pixels [B, 3, F, H, W], got {tuple(pixels.shape)}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    batch, _, frames, height, width = pixels.shape
    weights = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1, 1)
    luma = (pixels.float() * weights).sum(dim=1)  # [B, F, H, W]
    luma = luma.reshape(batch * frames, 1, height, width)
    small = F.adaptive_avg_pool2d(luma, (math.ceil(height / factor), math.ceil(width / factor)))
    blurred = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
    blurred = blurred.reshape(batch, 1, frames, height, width).expand(-1, 3, -1, -1, -1)
    return blurred.to(pixels.dtype).contiguous()
