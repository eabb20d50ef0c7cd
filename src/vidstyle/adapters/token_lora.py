"""DreamStyle's token-specific LoRA: one shared down matrix, one up matrix per token type.

For a wrapped ``nn.Linear`` with weight ``W`` (``out x in``) and a token ``x`` of type ``i``:
``y = W x + b + s_i * B_i A x`` with ``A`` (``r x in``) shared and ``B_i`` (``out x r``) per type,
zero-initialised so a fresh adapter changes nothing. A type without its own ``B`` uses the video one, so
``token_types=("video",)`` is a plain LoRA shared by all tokens (the paper's ablation).

Inference trick: the video tokens are nearly all of the sequence, so ``s_video B_video A`` is folded
into ``W`` (:meth:`TokenLoRALinear.merge`) and only the condition tokens get the low-rank
correction ``(s_i B_i - s_video B_video) A x``: the adapter then costs almost nothing.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vidstyle.adapters.call_context import TOKEN_TYPES, CallContext


class TokenLoRALinear(nn.Module):
    """An ``nn.Linear`` plus a token-type-routed low-rank update.

    Input ``[B, N, in]``, output ``[B, N, out]``; the context tells which token ranges have which type.
    ``scales`` is shared by every layer of one adapter (a dict owned by the adapter).
    """

    def __init__(self, base: nn.Linear, rank: int, token_types: tuple[str, ...], scales: dict[str, float],
                 context: CallContext) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.scales = scales
        self.context = context
        weight = base.weight
        self.lora_down = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device, dtype=weight.dtype))
        self.lora_up = nn.ParameterDict({
            kind: nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
            for kind in token_types
        })
        if weight.device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_down, a=math.sqrt(5))
        self.merged_type: str | None = None
        self._residual_up: dict[str, torch.Tensor] = {}

    def route(self, kind: str) -> str:
        """The up matrix a token type uses: its own, or the video one when it has none."""
        return kind if kind in self.lora_up else "video"

    def delta_weight(self, kind: str) -> torch.Tensor:
        """``s_kind * B_kind @ A`` in float32, ``[out, in]``."""
        return self.scales[kind] * (self.lora_up[kind].float() @ self.lora_down.float())

    @torch.no_grad()
    def merge(self, kind: str = "video") -> None:
        """Fold the ``kind`` update into the base weight (inference only)."""
        if self.merged_type is not None:
            raise RuntimeError("adapter is already merged")
        weight = self.base.weight
        weight.copy_((weight.float() + self.delta_weight(kind)).to(weight.dtype))
        self.merged_type = kind
        # what the other types still need on top of the merged weight: s_i B_i - s_m B_m, [out, r]
        merged_up = self.scales[kind] * self.lora_up[kind]
        self._residual_up = {other: self.scales[other] * up - merged_up
                             for other, up in self.lora_up.items() if other != kind}

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the folded update back out (exact in float32; rounding in bf16/fp16)."""
        if self.merged_type is None:
            return
        weight = self.base.weight
        weight.copy_((weight.float() - self.delta_weight(self.merged_type)).to(weight.dtype))
        self.merged_type = None
        self._residual_up = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        runs = self.context.runs_for(x.shape[1]) if self.context.num_tokens else [("video", 0, x.shape[1])]
        merged = self.merged_type
        if merged is None:  # training and unmerged inference: out of place, so autograd sees it all
            down = x @ self.lora_down.t()
            delta = [self.scales[k] * (down[:, start:stop] @ self.lora_up[k].t())
                     for k, start, stop in ((self.route(kind), start, stop) for kind, start, stop in runs)]
            return out + (torch.cat(delta, dim=1) if len(delta) > 1 else delta[0])
        for kind, start, stop in runs:
            if (kind := self.route(kind)) != merged:
                out[:, start:stop] += (x[:, start:stop] @ self.lora_down.t()) @ self._residual_up[kind].t()
        return out

    def extra_repr(self) -> str:
        return f"rank={self.rank}, types={list(self.lora_up)}, merged={self.merged_type}"


__all__ = ["TOKEN_TYPES", "TokenLoRALinear"]
