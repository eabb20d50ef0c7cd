"""Triplet loss that trains the global style projection: same style pulls together, same content pushes apart."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidstyle.style.extractor import StyleExtractor


def triplet_style_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                       margin: float = 0.2) -> torch.Tensor:
    """Mean ``relu(d(a, p) - d(a, n) + margin)`` with cosine distance ``d = 1 - cos`` on L2-normalised embeddings.

    ``anchor``, ``positive`` (same style, different content) and ``negative`` (different style, typically same
    content) are [B, ...] (flattened to [B, D]) -> scalar.
    """
    a, p, n = (F.normalize(x.flatten(1).float(), dim=-1) for x in (anchor, positive, negative))
    d_pos = 1.0 - (a * p).sum(-1)
    d_neg = 1.0 - (a * n).sum(-1)
    return F.relu(d_pos - d_neg + margin).mean()


def global_style_embedding(extractor: StyleExtractor, pixel_values: torch.Tensor,
                           seed: int | None = None) -> torch.Tensor:
    """Projected global style embedding of CLIP-normalised ``pixel_values`` [B, 3, S, S] -> [B, G * out_dim].

    Same tensor as ``StyleTokens.global_`` flattened (content shuffle with ``seed``, default the config's).
    """
    return extractor.encode_global(pixel_values, seed=seed).flatten(1)
