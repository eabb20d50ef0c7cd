"""LPIPS v0.1 (Zhang et al. 2018) with an AlexNet trunk, written here so no torchvision is needed.

Weight layouts accepted (loaded strictly):

* trunk: torchvision AlexNet names ``features.{i}.weight/bias`` (i in 0, 3, 6, 8, 10; ``classifier.*`` keys of a
  full AlexNet checkpoint are ignored) or the official LPIPS combined names ``net.slice{k}.{i}.weight/bias``;
* heads: official v0.1 names ``lin{k}.model.1.weight`` of shape [1, C_k, 1, 1], k = 0..4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.weights import load_state_strict, read_state_dict

TAP_INDICES = (1, 4, 7, 9, 11)
TAP_CHANNELS = (64, 192, 384, 256, 256)
_SLICE_KEY = re.compile(r"^net\.slice\d+\.(\d+\.(?:weight|bias))$")


class AlexNetTrunk(nn.Module):
    """torchvision AlexNet ``features`` up to the last ReLU, with the same layer indices (so keys match)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 3, H, W] (LPIPS-scaled) -> 5 taps [B, C_k, H_k, W_k], C_k = 64, 192, 384, 256, 256."""
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAP_INDICES:
                taps.append(x)
        return taps


class LinearHead(nn.Module):
    """1x1 conv without bias; ``model.1`` matches the official ``Sequential(Dropout, Conv2d)`` key layout."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))
        nn.init.uniform_(self.model[1].weight, 0.0, 2.0 / channels)  # non-negative, like trained heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, 1, H, W]."""
        return self.model(x)


def _normalise(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit-normalise over channels: [B, C, H, W] -> [B, C, H, W]."""
    return x / (x.square().sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance with an AlexNet trunk; randomly initialised until weights are loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = AlexNetTrunk()
        for k, channels in enumerate(TAP_CHANNELS):
            self.add_module(f"lin{k}", LinearHead(channels))
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)

    @property
    def heads(self) -> list[LinearHead]:
        return [getattr(self, f"lin{k}") for k in range(len(TAP_CHANNELS))]

    def load_trunk(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load AlexNet weights named ``features.{i}.*`` (torchvision) or ``net.slice{k}.{i}.*`` (LPIPS)."""
        renamed = {}
        for key, value in state.items():
            if key.startswith("classifier."):
                continue
            match = _SLICE_KEY.match(key)
            renamed[f"features.{match.group(1)}" if match else key] = value
        load_state_strict(self.trunk, renamed, "LPIPS trunk")

    def load_heads(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load the official v0.1 linear heads ``lin{k}.model.1.weight`` [1, C_k, 1, 1]."""
        heads = nn.ModuleDict({f"lin{k}": head for k, head in enumerate(self.heads)})
        load_state_strict(heads, state, "LPIPS heads")

    @classmethod
    def from_files(cls, trunk_path: str | Path, heads_path: str | Path) -> LPIPS:
        """Build from a trunk and a heads file (``.safetensors`` or ``torch.load(weights_only=True)``), eval mode."""
        model = cls()
        model.load_trunk(read_state_dict(trunk_path, "LPIPS trunk"))
        model.load_heads(read_state_dict(heads_path, "LPIPS heads"))
        return model.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y float [B, 3, H, W] in [0, 1] -> distance [B]."""
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            shapes = f"{tuple(x.shape)}, {tuple(y.shape)}"
            raise VidstyleInputError(f"LPIPS needs two [B, 3, H, W] images of one shape, got {shapes}")
        taps_x = self.trunk((2 * x - 1 - self.shift) / self.scale)
        taps_y = self.trunk((2 * y - 1 - self.shift) / self.scale)
        total = x.new_zeros(x.shape[0])
        for head, fx, fy in zip(self.heads, taps_x, taps_y, strict=True):
            total = total + head((_normalise(fx) - _normalise(fy)).square()).mean(dim=(1, 2, 3))
        return total
