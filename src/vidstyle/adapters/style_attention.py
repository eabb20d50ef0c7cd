"""StyleMaster's style cross-attention: a second cross-attention on every block's ``attn2``.

``out = TCA(x, text) + SCA(x, style)``, both summed before the output projection. ``to_out`` is
affine, so this equals ``to_out(TCA) + W_out @ SCA`` (no second bias): the processor runs Wan's own
processor for the text (and CLIP image) attention, untouched, and adds ``W_out @ SCA``. The query is
shared: a forward hook on ``attn2.norm_q`` keeps the normalised query that Wan's processor computes.

Style tokens ``[B, S, D]`` (``D`` = the DiT width) reach the processors per call through
``attention_kwargs={"style_tokens": ...}`` (see :mod:`vidstyle.adapters.call_context`); absent or
scale 0 means the block is exactly the base block.

Initialisation (an exact no-op whose key path learns from the first step). Write the style
attention as ``SCA = sum_j p_j v_j = sum_j (p_j - 1/S) v_j + mean_j v_j`` and gate the second term:
``SCA = sum_j (p_j - 1/S) v_j + g * mean_j v_j`` with a per-channel ``uniform_gate`` g. At g = 1 this
is exactly StyleMaster's style attention (weights trained elsewhere load with g = 1). A fresh module
has g = 0 and a zero key *weight* (key bias and RMSNorm weight kept), so every style token has the
same key, the attention is exactly uniform and both terms vanish: an exact no-op. The values are not
zero, so ``dOut/dp_j = v_j - mean v`` is not zero and the key projection gets a gradient at the first
step, as does the gate; the values follow from the second step. (With zero values or a zero output
gate instead, no key gradient can exist at the first step: ``dOut/dK = (dsoftmax/dK) V``.) The
public StyleMaster release zeroes the key projection *and* its RMSNorm weight, so its key path never
gets a gradient. Scores use keys minus the first token's key (softmax is shift-invariant, so this is
plain attention) and run in float32, which makes the uniform weights bit-exact at init in any dtype.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.adapters.call_context import acquire_call_context, release_call_context
from vidstyle.adapters.serialization import load_strict, read_part, save_part
from vidstyle.errors import VidstyleInputError

STYLE_TOKENS_KEY = "style_tokens"
STYLE_SCALE_KEY = "style_scale"
FORMAT = "vidstyle.style_attention"
NAME = "style_attention"


class StyleCrossAttnProcessor(nn.Module):
    """Wraps the block's original attention processor and adds the style branch.

    Parameters: ``to_k``/``to_v`` (``D -> inner``), ``norm_k`` (RMSNorm over ``inner``), ``uniform_gate`` [inner].
    """

    def __init__(self, attn: nn.Module, base_processor, context, style_dim: int) -> None:
        super().__init__()
        inner = attn.inner_dim
        weight = attn.to_q.weight
        self.heads = attn.heads
        self.context = context
        self.to_k = nn.Linear(style_dim, inner, device=weight.device, dtype=weight.dtype)
        self.to_v = nn.Linear(style_dim, inner, device=weight.device, dtype=weight.dtype)
        self.norm_k = nn.RMSNorm(inner, eps=attn.norm_k.eps, device=weight.device, dtype=weight.dtype)
        self.uniform_gate = nn.Parameter(torch.zeros(inner, device=weight.device, dtype=weight.dtype))
        if weight.device.type != "meta":
            nn.init.zeros_(self.to_k.weight)
        self.base_processor = base_processor
        self.scale = 1.0
        self._query: torch.Tensor | None = None
        self._hook = attn.norm_q.register_forward_hook(self._keep_query)

    def _keep_query(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        self._query = output

    def forward(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        out = self.base_processor(attn, hidden_states, encoder_hidden_states, attention_mask, rotary_emb)
        style = self.context.kwargs.get(STYLE_TOKENS_KEY)
        scale = self.scale * float(self.context.kwargs.get(STYLE_SCALE_KEY, 1.0))
        query, self._query = self._query, None
        if style is None or scale == 0:
            return out
        return out + scale * F.linear(self.attend(query, style), attn.to_out[0].weight)

    def attend(self, query: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``query [B, N, inner]`` (normalised), ``style [B or 1, S, D]`` -> ``[B, N, inner]``.

        ``sum_j (p_j - 1/S) v_j + uniform_gate * mean_j v_j`` with ``p = softmax(q (k_j - k_0) / sqrt(d))``
        computed in float32 (``[B, heads, N, S]``; S is the handful of style tokens).
        """
        style = style.to(query.dtype)
        if style.shape[0] != query.shape[0]:
            style = style.expand(query.shape[0], -1, -1)
        key = self.norm_k(self.to_k(style)).unflatten(2, (self.heads, -1)).transpose(1, 2)  # [B, h, S, d]
        value = self.to_v(style).unflatten(2, (self.heads, -1)).transpose(1, 2)  # [B, h, S, d]
        q = query.unflatten(2, (self.heads, -1)).transpose(1, 2)  # [B, h, N, d]
        key = key - key[:, :, :1]
        scores = (q @ key.transpose(-1, -2)).float() * q.shape[-1] ** -0.5  # [B, h, N, S]
        weights = (scores.softmax(dim=-1) - 1.0 / key.shape[-2]).to(value.dtype)
        gate = self.uniform_gate.unflatten(0, (self.heads, -1)).unsqueeze(1)  # [h, 1, d]
        out = weights @ value + gate * value.mean(dim=-2, keepdim=True)
        return out.transpose(1, 2).flatten(2)

    def remove(self) -> None:
        self._hook.remove()


@dataclass
class StyleAttentionConfig:
    """``style_dim``: width of the style tokens (the extractor's ``out_dim``); ``scale``: global style scale."""

    style_dim: int
    scale: float = 1.0


class StyleAttentionAdapter:
    """Style cross-attention processors on every block's ``attn2``."""

    def __init__(self, transformer: nn.Module, config: StyleAttentionConfig) -> None:
        self.config, self.transformer = config, transformer
        context = acquire_call_context(transformer)
        self.processors: list[StyleCrossAttnProcessor] = []
        for block in transformer.blocks:
            processor = StyleCrossAttnProcessor(block.attn2, block.attn2.processor, context, config.style_dim)
            processor.scale = config.scale
            block.attn2.set_processor(processor)
            self.processors.append(processor)

    @property
    def scale(self) -> float:
        return self.config.scale

    @scale.setter
    def scale(self, value: float) -> None:
        self.config.scale = float(value)
        for processor in self.processors:
            processor.scale = self.config.scale

    def parameters(self) -> list[nn.Parameter]:
        return [p for processor in self.processors for p in processor.parameters()]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``blocks.{i}.attn2.style.{to_k,to_v,norm_k}.{weight,bias}`` and ``blocks.{i}.attn2.style.uniform_gate``."""
        return {f"blocks.{i}.attn2.style.{k}": v for i, processor in enumerate(self.processors)
                for k, v in processor.state_dict().items()}

    def detach(self) -> None:
        for block, processor in zip(self.transformer.blocks, self.processors, strict=True):
            processor.remove()
            block.attn2.set_processor(processor.base_processor)
        if self.processors:
            release_call_context(self.transformer)
        self.processors = []

    def save(self, directory: str | os.PathLike) -> Path:
        return save_part(directory, NAME, FORMAT, self.state_dict(), asdict(self.config))

    @classmethod
    def load(cls, transformer: nn.Module, path: str | os.PathLike) -> StyleAttentionAdapter:
        weights, raw = read_part(path, NAME, FORMAT)
        try:
            adapter = cls(transformer, StyleAttentionConfig(**raw))
        except (TypeError, ValueError) as err:
            raise VidstyleInputError(f"{path} is not a valid style attention config: {err}") from None
        try:
            load_strict(adapter.state_dict(), weights)
        except ValueError as err:
            adapter.detach()
            raise VidstyleInputError(f"{path} does not fit this model's style attention: {err}") from None
        return adapter
