"""StyleMaster's motion adapter: a LoRA ``W + alpha * B A`` on ``attn1`` projections with a signed scale.

Trained with ``alpha = 1`` on still videos (one image repeated), so it learns "no motion, photo look";
at inference ``alpha = -0.3`` pushes away from both: more motion, less photo domain. Wan has no
separate temporal attention, so the full self-attention ``attn1`` is adapted.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from vidstyle.adapters.serialization import load_strict, read_part, save_part
from vidstyle.errors import VidstyleInputError

FORMAT = "vidstyle.motion_lora"
NAME = "motion_lora"


@dataclass
class MotionLoRAConfig:
    """Rank, wrapped linears relative to each block, and the signed scale ``alpha``."""

    rank: int = 32
    targets: tuple[str, ...] = ("attn1.to_q", "attn1.to_k", "attn1.to_v")
    alpha: float = -0.3

    def __post_init__(self) -> None:
        self.targets = tuple(self.targets)
        if self.rank < 1:
            raise ValueError(f"rank must be >= 1, got {self.rank}")


class SignedLoRALinear(nn.Module):
    """``y = W x + b + alpha * B A x``; ``A [r, in]`` random, ``B [out, r]`` zero; ``alpha`` shared."""

    def __init__(self, base: nn.Linear, rank: int, alpha: dict[str, float]) -> None:
        super().__init__()
        self.base, self.alpha = base, alpha
        weight = base.weight
        self.lora_down = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device, dtype=weight.dtype))
        self.lora_up = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
        if weight.device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_down, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.alpha["value"] == 0:
            return out
        return out + self.alpha["value"] * ((x @ self.lora_down.t()) @ self.lora_up.t())


class MotionLoRAAdapter:
    """The motion LoRA attached to a Wan transformer (wrapped linears)."""

    def __init__(self, transformer: nn.Module, config: MotionLoRAConfig | None = None) -> None:
        self.config = config or MotionLoRAConfig()
        self.transformer = transformer
        self._alpha = {"value": float(self.config.alpha)}
        self.layers: dict[str, SignedLoRALinear] = {}
        for index, block in enumerate(transformer.blocks):
            for target in self.config.targets:
                parent_name, _, child = target.rpartition(".")
                parent = block.get_submodule(parent_name) if parent_name else block
                base = getattr(parent, child)
                if not isinstance(base, nn.Linear):
                    raise ValueError(f"blocks.{index}.{target} is {type(base).__name__}, not nn.Linear")
                layer = SignedLoRALinear(base, self.config.rank, self._alpha)
                setattr(parent, child, layer)
                self.layers[f"blocks.{index}.{target}"] = layer

    @property
    def alpha(self) -> float:
        return self._alpha["value"]

    @alpha.setter
    def alpha(self, value: float) -> None:
        """Training uses +1; inference -0.3 by default; 0 is exactly the base model."""
        self._alpha["value"] = float(value)

    def parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers.values() for p in (layer.lora_down, layer.lora_up)]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{blocks.i.target.lora_down: [r, in], blocks.i.target.lora_up: [out, r]}``."""
        return {f"{name}.{kind}": getattr(layer, kind) for name, layer in self.layers.items()
                for kind in ("lora_down", "lora_up")}

    def detach(self) -> None:
        for name, layer in self.layers.items():
            parent_name, _, child = name.rpartition(".")
            setattr(self.transformer.get_submodule(parent_name), child, layer.base)
        self.layers = {}

    def save(self, directory: str | os.PathLike) -> Path:
        return save_part(directory, NAME, FORMAT, self.state_dict(), {**asdict(self.config), "alpha": self.alpha})

    @classmethod
    def load(cls, transformer: nn.Module, path: str | os.PathLike, alpha: float | None = None) -> MotionLoRAAdapter:
        """Attach a saved motion LoRA; ``alpha`` overrides the saved inference scale."""
        weights, raw = read_part(path, NAME, FORMAT)
        try:
            adapter = cls(transformer, MotionLoRAConfig(**raw))
        except (TypeError, ValueError) as err:
            raise VidstyleInputError(f"{path} is not a valid motion LoRA config: {err}") from None
        try:
            load_strict(adapter.state_dict(), weights)
        except ValueError as err:
            adapter.detach()
            raise VidstyleInputError(f"{path} is not a valid motion LoRA for this model: {err}") from None
        if alpha is not None:
            adapter.alpha = alpha
        return adapter
