"""A small Q-Former: learnable queries that read a set of context tokens through cross-attention.

Each layer is pre-LayerNorm with residuals: self-attention over the queries, cross-attention from the
queries to the (normed) context, then a GELU MLP. Parameter count, with width ``W``, context width ``C``,
``Q`` queries and ``L`` layers::

    Q*W + 2*C + 2*W + L * (14*W**2 + 2*W*C + 19*W)
"""

from __future__ import annotations

import torch
from torch import nn


class QFormerLayer(nn.Module):
    """Self-attention over queries, cross-attention to the context, MLP (all pre-LN, residual)."""

    def __init__(self, width: int, context_dim: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(width)
        self.self_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm_cross = nn.LayerNorm(width)
        self.cross_attn = nn.MultiheadAttention(width, heads, kdim=context_dim, vdim=context_dim, batch_first=True)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, queries: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``queries`` [B, Q, W], ``context`` [B, N, C] -> [B, Q, W]."""
        h = self.norm_self(queries)
        queries = queries + self.self_attn(h, h, h, need_weights=False)[0]
        h = self.norm_cross(queries)
        queries = queries + self.cross_attn(h, context, context, need_weights=False)[0]
        return queries + self.mlp(self.norm_mlp(queries))


class QFormer(nn.Module):
    """``num_queries`` learnable queries of width ``width`` attending to context tokens of width ``context_dim``."""

    def __init__(self, num_queries: int, width: int, context_dim: int, heads: int, layers: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"Q-Former width {width} is not divisible by {heads} heads")
        self.queries = nn.Parameter(torch.randn(num_queries, width) * 0.02)
        self.norm_context = nn.LayerNorm(context_dim)
        self.layers = nn.ModuleList([QFormerLayer(width, context_dim, heads) for _ in range(layers)])
        self.norm_out = nn.LayerNorm(width)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """``context`` [B, N, C] -> query states [B, num_queries, W]."""
        context = self.norm_context(context)
        queries = self.queries.unsqueeze(0).expand(context.shape[0], -1, -1)
        for layer in self.layers:
            queries = layer(queries, context)
        return self.norm_out(queries)
