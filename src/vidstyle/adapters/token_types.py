"""Token types of a DiT sequence, and how they reach the adapters on each transformer call.

Wan flattens latents frame-major (``F, H/2, W/2``), so a token type that belongs to whole latent
frames is a contiguous range of the sequence. A call states the type of every latent frame in
``attention_kwargs={"frame_types": [...]}``; diffusers passes ``attention_kwargs`` to the
transformer's ``forward`` but not to Wan's attention processors, so a forward pre-hook on the
transformer reads it there and publishes the token runs to every adapter layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

TOKEN_TYPES: tuple[str, ...] = ("video", "style", "first_frame")
FRAME_TYPES_KEY = "frame_types"
_ROUTER_ATTR = "_vidstyle_token_router"


def token_runs(frame_types: Sequence[str], tokens_per_frame: int) -> list[tuple[str, int, int]]:
    """Merge per-frame types into ``(type, start, stop)`` token ranges, in sequence order."""
    runs: list[tuple[str, int, int]] = []
    for index, kind in enumerate(frame_types):
        start, stop = index * tokens_per_frame, (index + 1) * tokens_per_frame
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1], stop)
        else:
            runs.append((kind, start, stop))
    return runs


@dataclass
class TokenRouter:
    """Per-transformer shared state: the token runs of the call in progress.

    ``runs`` is a list of ``(type, start, stop)`` covering ``[0, num_tokens)``.
    """

    runs: list[tuple[str, int, int]] = field(default_factory=list)
    num_tokens: int = 0
    _handle: torch.utils.hooks.RemovableHandle | None = None

    def runs_for(self, num_tokens: int) -> list[tuple[str, int, int]]:
        """The runs for a sequence of ``num_tokens`` tokens (all ``video`` when the call named none)."""
        if num_tokens != self.num_tokens:
            raise RuntimeError(
                f"token-type layout covers {self.num_tokens} tokens but the layer sees {num_tokens}; "
                "was the transformer called through its forward?"
            )
        return self.runs


def router_for(transformer: nn.Module) -> TokenRouter:
    """The transformer's router, installing the forward pre-hook on first use."""
    router = getattr(transformer, _ROUTER_ATTR, None)
    if router is None:
        router = TokenRouter()
        patch = tuple(transformer.config.patch_size)
        router._handle = transformer.register_forward_pre_hook(_make_hook(router, patch), with_kwargs=True)
        object.__setattr__(transformer, _ROUTER_ATTR, router)
    return router


def remove_router(transformer: nn.Module) -> None:
    router = getattr(transformer, _ROUTER_ATTR, None)
    if router is not None and router._handle is not None:
        router._handle.remove()
        object.__delattr__(transformer, _ROUTER_ATTR)


def _make_hook(router: TokenRouter, patch: tuple[int, int, int]):
    def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        _, _, frames, height, width = hidden.shape
        frames, per_frame = frames // patch[0], (height // patch[1]) * (width // patch[2])
        frame_types = (kwargs.get("attention_kwargs") or {}).get(FRAME_TYPES_KEY) or ["video"] * frames
        if len(frame_types) != frames:
            raise ValueError(f"{FRAME_TYPES_KEY} names {len(frame_types)} frames, the input has {frames}")
        unknown = set(frame_types) - set(TOKEN_TYPES)
        if unknown:
            raise ValueError(f"unknown token types {sorted(unknown)}; known: {TOKEN_TYPES}")
        router.runs = token_runs(frame_types, per_frame)
        router.num_tokens = frames * per_frame

    return hook
