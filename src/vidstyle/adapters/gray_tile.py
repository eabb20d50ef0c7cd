"""StyleMaster's tile control video: a down/up-sampling blur of the content video, gray (the paper) or RGB.

The gray tile keeps the layout and coarse shading of the content video but neither its colours nor its
fine texture, which the style is free to repaint. The RGB tile (the paper's ablation) blurs each colour
channel the same way and keeps the colours. The pipeline VAE-encodes the result.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601
TILE_KINDS = ("gray", "rgb")


def _check(pixels: torch.Tensor, factor: int) -> None:
    if pixels.ndim != 5 or pixels.shape[1] != 3:
        raise ValueError(f"expected pixels [B, 3, F, H, W], got {tuple(pixels.shape)}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")


def _blur(planes: torch.Tensor, factor: int) -> torch.Tensor:
    """``planes [N, C, H, W]`` float -> area-averaged to ``ceil(H / factor) x ceil(W / factor)`` and
    bilinearly upsampled back to ``[N, C, H, W]``."""
    height, width = planes.shape[-2:]
    small = F.adaptive_avg_pool2d(planes, (math.ceil(height / factor), math.ceil(width / factor)))
    return F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)


def gray_tile_control(pixels: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """``pixels [B, 3, F, H, W]`` in ``[-1, 1]`` -> gray tile ``[B, 3, F, H, W]`` (3 equal channels).

    Each frame's BT.601 luma is area-averaged down to ``ceil(H / factor) x ceil(W / factor)`` (any
    ``H, W``) and bilinearly upsampled back to ``H x W``. The weights sum to 1, so the range stays ``[-1, 1]``.
    """
    _check(pixels, factor)
    batch, _, frames, height, width = pixels.shape
    weights = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1, 1)
    luma = (pixels.float() * weights).sum(dim=1)  # [B, F, H, W]
    blurred = _blur(luma.reshape(batch * frames, 1, height, width), factor)
    blurred = blurred.reshape(batch, 1, frames, height, width).expand(-1, 3, -1, -1, -1)
    return blurred.to(pixels.dtype).contiguous()


def rgb_tile_control(pixels: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """``pixels [B, 3, F, H, W]`` in ``[-1, 1]`` -> RGB tile ``[B, 3, F, H, W]``: every channel of every frame
    blurred like :func:`gray_tile_control`'s luma, colours kept (range stays ``[-1, 1]``)."""
    _check(pixels, factor)
    batch, channels, frames, height, width = pixels.shape
    planes = pixels.float().permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)
    blurred = _blur(planes, factor).reshape(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4)
    return blurred.to(pixels.dtype).contiguous()


def tile_control(pixels: torch.Tensor, kind: str = "gray", factor: int = 8) -> torch.Tensor:
    """The tile of ``kind`` (``"gray"`` or ``"rgb"``) of ``pixels [B, 3, F, H, W]`` -> ``[B, 3, F, H, W]``."""
    if kind == "gray":
        return gray_tile_control(pixels, factor)
    if kind == "rgb":
        return rgb_tile_control(pixels, factor)
    raise ValueError(f"tile kind must be one of {', '.join(TILE_KINDS)}, got {kind!r}")
