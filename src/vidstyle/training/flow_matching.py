"""The flow-matching draw every Wan objective shares (diffusers' convention).

``x_t = (1 - s) x0 + s eps`` and the model predicts ``eps - x0``; ``s`` follows the shifted schedule that
inference samples from: ``s = shift u / (1 + (shift - 1) u)`` with ``u`` uniform.
"""

from __future__ import annotations

import torch


def flow_matching_draw(x0: torch.Tensor, generator: torch.Generator, shift: float) -> tuple[float, torch.Tensor]:
    """``(sigma, eps)`` for clean latents ``x0`` (any shape): draws ``u`` then ``eps`` from ``generator``."""
    u = torch.rand((), generator=generator)
    sigma = float(shift * u / (1 + (shift - 1) * u))
    return sigma, torch.randn(x0.shape, generator=generator).to(x0.device)
