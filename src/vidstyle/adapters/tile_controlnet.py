"""StyleMaster's tile ControlNet (gray tile, or RGB tile for the ablation) on a Wan transformer, via hooks.

The ControlNet holds copies of base blocks ``0, s, 2s, ...`` (``s = block_stride``), a copy of the
base patch embedding for the 16 latent channels of the tile video, and one zero-initialised
``D -> D`` projection per copied block, so a fresh ControlNet changes nothing. Neither the base
modules nor their forwards are edited: a forward pre-hook on base block 0 starts the control branch
``c = tokens + embed(control_latents)``; a forward hook on base block ``j * s`` runs control block
``j`` on ``c`` and adds ``scale * proj_j(c)`` to the base block's output.

Per call, through ``attention_kwargs`` (see :mod:`vidstyle.adapters.call_context`):
``control_latents [B or 1, 16, F, h, w]`` on the noisy latents' grid and ``control_scale`` (default
``config.conditioning_scale``); absent latents or scale 0 leave the transformer exactly as it is.
On disk: ``tile_controlnet.safetensors`` + ``tile_controlnet.json`` (config and base dimensions). The
config's ``tile`` names the control video it was trained on (:func:`~vidstyle.adapters.gray_tile.tile_control`);
configs saved before it existed load as ``"gray"``.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.utils.checkpoint
from torch import nn
from torch.utils.hooks import RemovableHandle

from vidstyle.adapters.call_context import (
    CallContext,
    acquire_call_context,
    current_call_context,
    release_call_context,
)
from vidstyle.adapters.gray_tile import TILE_KINDS
from vidstyle.adapters.serialization import load_strict, read_part, save_part
from vidstyle.errors import VidstyleInputError

CONTROL_LATENTS_KEY = "control_latents"
CONTROL_SCALE_KEY = "control_scale"
# a dict shared by calls whose inputs (latents, timestep, text, control, scale) are identical: the first
# call stores each block's residual there, later ones reuse them instead of running the control blocks
CONTROL_CACHE_KEY = "control_cache"
CONTROL_CHANNELS = 16
NAME, FORMAT = "tile_controlnet", "vidstyle.tile_controlnet"
_BLOCK_ARGS = ("hidden_states", "encoder_hidden_states", "temb", "rotary_emb")
_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
               "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks")


@dataclass
class TileControlNetConfig:
    """Which base blocks are copied, the default strength and active step window, and the tile kind."""

    block_stride: int = 2
    conditioning_scale: float = 1.0
    active_fraction: float = 0.7
    tile: str = "gray"  # the control video: "gray" (the paper) or "rgb" (its ablation)

    def __post_init__(self) -> None:
        if isinstance(self.block_stride, bool) or not isinstance(self.block_stride, int) or self.block_stride < 1:
            raise ValueError(f"block_stride must be a positive int, got {self.block_stride!r}")
        self.conditioning_scale, self.active_fraction = float(self.conditioning_scale), float(self.active_fraction)
        if not 0.0 <= self.active_fraction <= 1.0:
            raise ValueError(f"active_fraction must be in [0, 1], got {self.active_fraction}")
        if self.tile not in TILE_KINDS:
            raise ValueError(f"tile must be one of {', '.join(TILE_KINDS)}, got {self.tile!r}")

    def is_active(self, step_index: int, num_steps: int) -> bool:
        """Whether denoising step ``step_index`` (0-based) of ``num_steps`` lies in the first ``active_fraction``."""
        if num_steps < 1 or not 0 <= step_index < num_steps:
            raise ValueError(f"step {step_index} is not a step of a {num_steps}-step schedule")
        return step_index < self.active_fraction * num_steps - 1e-9


def base_dims(transformer: nn.Module) -> dict[str, Any]:
    """The base transformer's dimensions a ControlNet depends on (JSON-friendly)."""
    cfg = transformer.config
    return {"inner_dim": cfg.num_attention_heads * cfg.attention_head_dim, "ffn_dim": cfg.ffn_dim,
            "num_layers": len(transformer.blocks), "patch_size": [int(p) for p in cfg.patch_size]}


class WanTileControlNet(nn.Module):
    """Copied blocks, control patch embedding and zero projections, built from a base Wan transformer."""

    def __init__(self, transformer: nn.Module, config: TileControlNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or TileControlNetConfig()
        self.base_dims = base_dims(transformer)
        patch = transformer.patch_embedding
        if patch.in_channels < CONTROL_CHANNELS:
            raise ValueError(f"the base patch embedding takes {patch.in_channels} channels, need >= {CONTROL_CHANNELS}")
        weight = patch.weight
        self.control_embedding = nn.Conv3d(CONTROL_CHANNELS, patch.out_channels, patch.kernel_size, stride=patch.stride,
                                           device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            self.control_embedding.weight.copy_(weight[:, :CONTROL_CHANNELS])
            self.control_embedding.bias.copy_(patch.bias)
        self.block_indices = tuple(range(0, len(transformer.blocks), self.config.block_stride))
        self.blocks = nn.ModuleList(_copy_block(transformer.blocks[i]) for i in self.block_indices)
        ref = next(self.blocks[0].parameters())
        dim = self.base_dims["inner_dim"]
        self.zero_projections = nn.ModuleList(
            nn.Linear(dim, dim, device=ref.device, dtype=ref.dtype) for _ in self.block_indices)
        for proj in self.zero_projections:
            nn.init.zeros_(proj.weight)
            nn.init.zeros_(proj.bias)
        self.requires_grad_(True)
        self._handles: list[RemovableHandle] = []
        self.checkpoint_blocks = False
        self._state: tuple | None = None

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def embed(self, latents: torch.Tensor, batch: int, grid: tuple[int, int, int]) -> torch.Tensor:
        """``latents [B or 1, 16, F, h, w]`` -> control tokens ``[B or 1, F*h*w/(p_h*p_w), D]`` (frame-major)."""
        if latents.ndim != 5 or latents.shape[1] != CONTROL_CHANNELS:
            raise ValueError(f"{CONTROL_LATENTS_KEY} must be [B, 16, F, h, w], got {tuple(latents.shape)}")
        if latents.shape[0] not in (1, batch):
            raise ValueError(f"{CONTROL_LATENTS_KEY} has batch {latents.shape[0]}, the input has {batch} (or give 1)")
        weight = self.control_embedding.weight
        tokens = self.control_embedding(latents.to(weight.device, weight.dtype))
        if tuple(tokens.shape[2:]) != tuple(grid):
            raise ValueError(f"{CONTROL_LATENTS_KEY} give a {tuple(tokens.shape[2:])} token grid, the input {grid}")
        return tokens.flatten(2).transpose(1, 2)

    # ---- hooks ------------------------------------------------------------------------------
    def attach(self, transformer: nn.Module) -> list[RemovableHandle]:
        """Hook this ControlNet into ``transformer`` (the base it was built from, or one like it)."""
        if self._handles:
            raise ValueError("this ControlNet is already attached; detach it first")
        if base_dims(transformer) != self.base_dims:
            raise ValueError(f"transformer dims {base_dims(transformer)} differ from the ControlNet's {self.base_dims}")
        context = acquire_call_context(transformer)
        object.__setattr__(self, "_attached_to", transformer)  # a reference, not a submodule
        start = _start_hook(self, transformer, context)
        self._handles = [transformer.blocks[0].register_forward_pre_hook(start, with_kwargs=True)]
        self._handles += [transformer.blocks[i].register_forward_hook(_inject_hook(self, j))
                          for j, i in enumerate(self.block_indices)]
        return list(self._handles)

    def enable_gradient_checkpointing(self, transformer: nn.Module) -> None:
        """Gradient checkpointing that is safe with the hooks: the base blocks this ControlNet hooks run plainly
        (a recomputation would re-run their hooks), every other base block and every control block is
        checkpointed. Uses diffusers' ``gradient_checkpointing_func`` extension point."""
        hooked = {id(transformer.blocks[i]) for i in self.block_indices}

        def checkpoint_unhooked(module: nn.Module, *args):
            if id(module) in hooked:
                return module(*args)
            return torch.utils.checkpoint.checkpoint(module.__call__, *args, use_reentrant=False)

        transformer.enable_gradient_checkpointing(gradient_checkpointing_func=checkpoint_unhooked)
        self.checkpoint_blocks = True

    def detach(self) -> None:
        """Remove every hook and release the shared call context."""
        for handle in self._handles:
            handle.remove()
        if self._handles:
            release_call_context(self._attached_to)
        self._handles, self._state = [], None

    # ---- files ------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``tile_controlnet.safetensors`` and ``tile_controlnet.json`` into ``directory`` atomically."""
        return save_part(directory, NAME, FORMAT, self.state_dict(),
                         {"config": asdict(self.config), "base": self.base_dims})

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, transformer: nn.Module) -> WanTileControlNet:
        """Build from ``transformer`` and load the weights at ``path`` strictly (not attached)."""
        tensors, meta = read_part(path, NAME, FORMAT)
        try:
            config = TileControlNetConfig(**meta["config"])
            if meta["base"] != base_dims(transformer):
                raise ValueError(f"made for a base with {meta['base']}, this one has {base_dims(transformer)}")
        except (KeyError, TypeError, ValueError) as err:
            raise VidstyleInputError(f"{path} is not a valid tile ControlNet for this model: {err}") from None
        model = cls(transformer, config)
        try:
            load_strict(model.state_dict(keep_vars=True), tensors)
        except ValueError as err:
            raise VidstyleInputError(f"{path} is not a valid tile ControlNet for this model: {err}") from None
        return model


def _start_hook(net: WanTileControlNet, transformer: nn.Module, context: CallContext):
    """Pre-hook on base block 0: read the call's control latents and start ``c`` ``[B, N, D]``."""

    def hook(block: nn.Module, args: tuple, kwargs: dict) -> None:
        net._state = None
        if current_call_context(transformer) is not context:
            raise RuntimeError("the call context the tile ControlNet reads was removed; detach and re-attach it")
        latents = context.kwargs.get(CONTROL_LATENTS_KEY)
        scale = float(context.kwargs.get(CONTROL_SCALE_KEY, net.config.conditioning_scale))
        if latents is None or scale == 0.0:
            return
        cache = context.kwargs.get(CONTROL_CACHE_KEY)
        if cache is not None and len(cache) == len(net.blocks):  # every residual is known: reuse them
            net._state = ("cached", cache)
            return
        if getattr(transformer, "gradient_checkpointing", False) and torch.is_grad_enabled() \
                and not net.checkpoint_blocks:
            raise RuntimeError("with the tile ControlNet, enable checkpointing through "
                               "WanTileControlNet.enable_gradient_checkpointing(transformer)")
        hidden, encoder_hidden, temb, rotary = _block_inputs(args, kwargs)
        tokens = net.embed(latents, hidden.shape[0], context.grid)
        c = hidden.to(tokens.dtype) + tokens
        net._state = (c, encoder_hidden.to(tokens.dtype), temb, rotary, scale, cache)

    return hook


def _inject_hook(net: WanTileControlNet, j: int):
    """Forward hook on base block ``j * stride``: advance ``c`` through control block ``j``, add its projection."""

    def hook(block: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if net._state is None:
            return None
        if net._state[0] == "cached":
            residual = net._state[1][j]
            if j == len(net.blocks) - 1:
                net._state = None
            return output + residual.to(output.device, output.dtype)
        c, encoder_hidden, temb, rotary, scale, cache = net._state
        if net.checkpoint_blocks and torch.is_grad_enabled():
            c = torch.utils.checkpoint.checkpoint(net.blocks[j].__call__, c, encoder_hidden, temb, rotary,
                                                  use_reentrant=False)
        else:
            c = net.blocks[j](c, encoder_hidden, temb, rotary)
        net._state = None if j == len(net.blocks) - 1 else (c, encoder_hidden, temb, rotary, scale, cache)
        residual = scale * net.zero_projections[j](c)
        if cache is not None:
            cache[j] = residual
        return output + residual.to(output.device, output.dtype)

    return hook


def _block_inputs(args: tuple, kwargs: dict) -> list:
    """``(hidden_states, encoder_hidden_states, temb, rotary_emb)`` of a Wan block call, however passed."""
    return list(args[: len(_BLOCK_ARGS)]) + [kwargs[name] for name in _BLOCK_ARGS[len(args):]]


def _copy_block(block: nn.Module) -> nn.Module:
    """A deep copy (same dtype and device, ``meta`` included) without any hooks the original carries."""
    if any(type(m).__module__.startswith("vidstyle") for m in block.modules()):
        raise ValueError("build the tile ControlNet before attaching adapters that wrap the base's layers")
    copied = copy.deepcopy(block)
    for module in copied.modules():
        for name in _HOOK_DICTS:
            getattr(module, name, {}).clear()
    return copied
