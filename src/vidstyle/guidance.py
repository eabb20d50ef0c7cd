"""Guidance formulas."""

from __future__ import annotations

import torch


def three_pass_guidance(n_neg: torch.Tensor, n_text: torch.Tensor, n_full: torch.Tensor, cfg: float,
                        style_cfg: float) -> torch.Tensor:
    """StyleMaster's ``n_neg + cfg * (n_text - n_neg) + style_cfg * (n_full - n_text)``.

    ``n_neg``: negative text, no style; ``n_text``: prompt, no style; ``n_full``: prompt and style.
    """
    return n_neg + cfg * (n_text - n_neg) + style_cfg * (n_full - n_text)
