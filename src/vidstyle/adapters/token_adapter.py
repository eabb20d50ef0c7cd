"""Attach, merge, save and load a token-specific LoRA on a Wan transformer.

On disk an adapter is a directory holding ``token_lora.safetensors`` (keys
``blocks.{i}.{target}.lora_down`` and ``blocks.{i}.{target}.lora_up.{type}``) and
``token_lora.json`` (:class:`TokenLoRAConfig` plus a format tag).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from vidstyle.adapters.call_context import TOKEN_TYPES, acquire_call_context, release_call_context
from vidstyle.adapters.serialization import load_strict, read_part, save_part
from vidstyle.adapters.token_lora import TokenLoRALinear
from vidstyle.errors import VidstyleInputError

FORMAT = "vidstyle.token_lora"
NAME = "token_lora"
DEFAULT_TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ffn.net.0.proj", "ffn.net.2")
# every linear of a Wan block whose input is the video-token sequence, so token types can route it; the cross-
# attention's key/value projections see the text and image tokens instead and cannot carry a token LoRA
VIDEO_SEQUENCE_TARGETS = (*DEFAULT_TARGETS[:4], "attn2.to_q", "attn2.to_out.0", *DEFAULT_TARGETS[4:])


@dataclass
class TokenLoRAConfig:
    """Rank, wrapped linears (relative to each block) and per-type scales."""

    rank: int = 64
    targets: tuple[str, ...] = DEFAULT_TARGETS
    token_types: tuple[str, ...] = TOKEN_TYPES
    scales: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 1.0))

    def __post_init__(self) -> None:
        self.targets, self.token_types = tuple(self.targets), tuple(self.token_types)
        if self.rank < 1:
            raise ValueError(f"rank must be >= 1, got {self.rank}")
        if not self.targets or len(set(self.targets)) < len(self.targets) or \
                not set(self.targets) <= set(VIDEO_SEQUENCE_TARGETS):
            raise ValueError(f"targets must be distinct names among {list(VIDEO_SEQUENCE_TARGETS)}, got "
                             f"{list(self.targets)}")
        unknown = set(self.token_types) - set(TOKEN_TYPES)
        if unknown or "video" not in self.token_types:
            raise ValueError(f"token_types must include 'video' and be among {TOKEN_TYPES}")
        self.scales = {kind: float(self.scales.get(kind, 1.0)) for kind in self.token_types}


class TokenLoRAAdapter:
    """A token-specific LoRA attached to one transformer (wrapped linears, peft-style)."""

    def __init__(self, transformer: nn.Module, config: TokenLoRAConfig | None = None) -> None:
        if getattr(transformer, "_vidstyle_token_lora", None) is not None:
            raise ValueError("a token LoRA is already attached to this transformer; detach it first")
        self.config = config or TokenLoRAConfig()
        self.transformer = transformer
        self.scales = dict(self.config.scales)
        context = acquire_call_context(transformer)
        self.layers: dict[str, TokenLoRALinear] = {}
        for index, block in enumerate(transformer.blocks):
            for target in self.config.targets:
                parent_name, _, child = target.rpartition(".")
                parent = block.get_submodule(parent_name) if parent_name else block
                base = getattr(parent, child) if not child.isdigit() else parent[int(child)]
                if not isinstance(base, nn.Linear):
                    raise ValueError(f"blocks.{index}.{target} is {type(base).__name__}, not nn.Linear")
                if getattr(block.attn1, "fused_projections", False):
                    raise ValueError("unfuse the transformer's QKV projections before attaching a token LoRA")
                layer = TokenLoRALinear(base, self.config.rank, self.config.token_types, self.scales, context)
                _replace(parent, child, layer)
                self.layers[f"blocks.{index}.{target}"] = layer
        object.__setattr__(transformer, "_vidstyle_token_lora", self)

    # ---- parameters -------------------------------------------------------------------------
    def parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers.values() for p in (layer.lora_down, *layer.lora_up.values())]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{blocks.i.target.lora_down: [r, in], blocks.i.target.lora_up.type: [out, r]}``."""
        state = {}
        for name, layer in self.layers.items():
            state[f"{name}.lora_down"] = layer.lora_down.detach()
            for kind, up in layer.lora_up.items():
                state[f"{name}.lora_up.{kind}"] = up.detach()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Strict: every key present, none extra, shapes equal."""
        merged = self.merged_type
        self.unmerge()
        load_strict(self.state_dict(), state)
        if merged:
            self.merge(merged)

    # ---- inference --------------------------------------------------------------------------
    @property
    def merged_type(self) -> str | None:
        return next(iter(self.layers.values())).merged_type if self.layers else None

    def merge(self, kind: str = "video") -> None:
        """Fold the ``kind`` update into the base weights: only other-type tokens pay for the adapter."""
        for layer in self.layers.values():
            layer.merge(kind)

    def unmerge(self) -> None:
        for layer in self.layers.values():
            layer.unmerge()

    def set_scales(self, **scales: float) -> None:
        """Change per-type scales (re-merging if merged)."""
        unknown = set(scales) - set(self.scales)
        if unknown:
            raise ValueError(f"unknown token types {sorted(unknown)}")
        merged = self.merged_type
        self.unmerge()
        self.scales.update({k: float(v) for k, v in scales.items()})
        if merged:
            self.merge(merged)

    def detach(self) -> None:
        """Unmerge and put the original linears back."""
        self.unmerge()
        for name, layer in self.layers.items():
            parent_name, _, child = name.rpartition(".")
            _replace(self.transformer.get_submodule(parent_name), child, layer.base)
        self.layers = {}
        release_call_context(self.transformer)
        object.__setattr__(self.transformer, "_vidstyle_token_lora", None)

    # ---- files ------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``token_lora.safetensors`` and ``token_lora.json`` into ``directory`` atomically."""
        return save_part(directory, NAME, FORMAT, self.state_dict(), {**asdict(self.config), "scales": self.scales})

    @classmethod
    def load(cls, transformer: nn.Module, path: str | os.PathLike) -> TokenLoRAAdapter:
        """Attach an adapter read from ``path`` (its directory, or its ``.safetensors`` file)."""
        weights, config = read_adapter_files(path)
        adapter = cls(transformer, config)
        try:
            adapter.load_state_dict(weights)
        except ValueError as err:
            adapter.detach()
            raise VidstyleInputError(f"{path} is not a valid token-LoRA adapter for this model: {err}") from None
        return adapter


def read_adapter_files(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], TokenLoRAConfig]:
    """Read and validate an adapter's files; any problem is a one-line :class:`VidstyleInputError`."""
    weights, raw = read_part(path, NAME, FORMAT)
    try:
        return weights, TokenLoRAConfig(**raw)
    except (ValueError, TypeError) as err:
        raise VidstyleInputError(f"{path} is not a valid adapter config: {err}") from None


def _replace(parent: nn.Module, child: str, module: nn.Module) -> None:
    if child.isdigit():
        parent[int(child)] = module
    else:
        setattr(parent, child, module)
