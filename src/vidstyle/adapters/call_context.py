"""Per-call state for adapters: the call's ``attention_kwargs`` and the token types of its sequence.

diffusers passes ``attention_kwargs`` to a transformer's ``forward`` but not to Wan's attention
processors. One forward pre-hook per transformer reads it there and publishes it in a
:class:`CallContext` that every adapter of that transformer holds: token types for the token LoRA
(``frame_types``), style tokens for the style cross-attention, control latents for the ControlNet.

Wan flattens latents frame-major (``F, H/2, W/2``), so a token type that belongs to whole latent
frames is a contiguous range of the sequence; a call states the type of every latent frame in
``attention_kwargs={"frame_types": [...]}`` (all ``video`` when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

TOKEN_TYPES: tuple[str, ...] = ("video", "style", "first_frame")
FRAME_TYPES_KEY = "frame_types"
_CONTEXT_ATTR = "_vidstyle_call_context"


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
class CallContext:
    """Per-transformer shared state of the call in progress.

    ``kwargs`` is the call's ``attention_kwargs`` (empty dict when none); ``runs`` is a list of
    ``(type, start, stop)`` covering ``[0, num_tokens)``; ``grid`` is the post-patch ``(F, H, W)``.
    """

    runs: list[tuple[str, int, int]] = field(default_factory=list)
    num_tokens: int = 0
    kwargs: dict = field(default_factory=dict)
    grid: tuple[int, int, int] = (0, 0, 0)
    users: int = 0
    _handle: torch.utils.hooks.RemovableHandle | None = None

    def runs_for(self, num_tokens: int) -> list[tuple[str, int, int]]:
        """The runs for a sequence of ``num_tokens`` tokens (all ``video`` when the call named none)."""
        if num_tokens != self.num_tokens:
            raise RuntimeError(
                f"token-type layout covers {self.num_tokens} tokens but the layer sees {num_tokens}; "
                "was the transformer called through its forward?"
            )
        return self.runs


def acquire_call_context(transformer: nn.Module) -> CallContext:
    """The transformer's context for one more adapter, installing the forward pre-hook on first use."""
    context = current_call_context(transformer)
    if context is None:
        context = CallContext()
        patch = tuple(transformer.config.patch_size)
        context._handle = transformer.register_forward_pre_hook(_make_hook(context, patch), with_kwargs=True)
        object.__setattr__(transformer, _CONTEXT_ATTR, context)
    context.users += 1
    return context


def release_call_context(transformer: nn.Module) -> None:
    """One adapter less; the hook goes when the last adapter using it is detached."""
    context = current_call_context(transformer)
    if context is None:
        return
    context.users -= 1
    if context.users <= 0 and context._handle is not None:
        context._handle.remove()
        object.__delattr__(transformer, _CONTEXT_ATTR)


def current_call_context(transformer: nn.Module) -> CallContext | None:
    """The installed context, or None."""
    return getattr(transformer, _CONTEXT_ATTR, None)


def _make_hook(context: CallContext, patch: tuple[int, int, int]):
    def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        _, _, frames, height, width = hidden.shape
        frames, per_frame = frames // patch[0], (height // patch[1]) * (width // patch[2])
        context.kwargs = kwargs.get("attention_kwargs") or {}
        context.grid = (frames, height // patch[1], width // patch[2])
        frame_types = context.kwargs.get(FRAME_TYPES_KEY) or ["video"] * frames
        if len(frame_types) != frames:
            raise ValueError(f"{FRAME_TYPES_KEY} names {len(frame_types)} frames, the input has {frames}")
        unknown = set(frame_types) - set(TOKEN_TYPES)
        if unknown:
            raise ValueError(f"unknown token types {sorted(unknown)}; known: {TOKEN_TYPES}")
        context.runs = token_runs(frame_types, per_frame)
        context.num_tokens = frames * per_frame

    return hook
