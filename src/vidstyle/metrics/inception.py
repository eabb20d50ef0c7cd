"""The FID Inception-v3 of pytorch-fid (TF-ported weights ``pt_inception-2015-12-05-6726825d.pth``), no torchvision.

Verified against mseitzer/pytorch-fid ``src/pytorch_fid/inception.py`` and pytorch/vision
``torchvision/models/inception.py``:

* the checkpoint is loaded into torchvision's ``Inception3(num_classes=1008, aux_logits=False)`` with Mixed_5b-d,
  6b-e, 7b, 7c replaced by the FID blocks, so its keys are torchvision's: ``<block>.conv.weight`` (bias-free conv) and
  ``<block>.bn.{weight,bias,running_mean,running_var}`` for every ``BasicConv2d`` (``Conv2d_1a_3x3``,
  ``Mixed_5b.branch1x1``, ``Mixed_7c.branch3x3dbl_3b``, ...), plus ``fc.weight`` [1008, 2048] and ``fc.bias`` [1008];
  no ``AuxLogits``. ``BasicConv2d`` is conv -> ``BatchNorm2d(eps=0.001)`` -> ReLU;
* FID blocks: FIDInceptionA / C / E_1 average-pool their pool branch with ``count_include_pad=False``; FIDInceptionE_2
  (``Mixed_7c``) max-pools it (3x3, stride 1, padding 1);
* input: bilinear resize to 299 x 299 (``align_corners=False``), scaled from [0, 1] to [-1, 1]; features: the 2048-d
  global average pool after ``Mixed_7c`` ("pool3").

Loading is strict except that BatchNorm ``num_batches_tracked`` entries may be present or absent. ``fc`` is loaded
(so the published file matches exactly) but not used.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.weights import load_state_strict, read_state_dict

Size = int | tuple[int, int]


class BasicConv2d(nn.Module):
    """Bias-free conv -> BatchNorm (eps 0.001) -> ReLU, keys ``conv.weight`` and ``bn.*``."""

    def __init__(self, cin: int, cout: int, kernel_size: Size, stride: int = 1, padding: Size = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, cin, H, W] -> [B, cout, H', W']."""
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    """TF-style 3x3 average pool, stride 1: padded zeros are not counted. [B, C, H, W] -> [B, C, H, W]."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block: [B, cin, H, W] -> [B, 224 + pool_features, H, W]."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg_pool(x)),
        ], dim=1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (``Mixed_6a``): [B, cin, H, W] -> [B, 480 + cin, H', W']."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class FIDInceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions: [B, cin, H, W] -> [B, 768, H, W]."""

    def __init__(self, cin: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            self.branch7x7dbl_5(self.branch7x7dbl_4(dbl)),
            self.branch_pool(_avg_pool(x)),
        ], dim=1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (``Mixed_7a``): [B, cin, H, W] -> [B, 512 + cin, H', W']."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_2(self.branch7x7x3_1(x))
        return torch.cat([
            self.branch3x3_2(self.branch3x3_1(x)),
            self.branch7x7x3_4(self.branch7x7x3_3(seven)),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class FIDInceptionE(nn.Module):
    """8x8 block with split 1x3 / 3x1 branches: [B, cin, H, W] -> [B, 2048, H, W].

    ``pool="avg"`` is FIDInceptionE_1 (``Mixed_7b``), ``pool="max"`` FIDInceptionE_2 (``Mixed_7c``).
    """

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = _avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(b3),
            self.branch3x3_2b(b3),
            self.branch3x3dbl_3a(dbl),
            self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], dim=1)


class FIDInceptionV3(nn.Module):
    """FID Inception-v3 feature extractor: images [B, 3, H, W] in [0, 1] -> pool3 features [B, 2048].

    Implements the ``FeatureExtractor`` protocol (``name = "inception-v3"``). Randomly initialised until loaded.
    """

    name = "inception-v3"
    num_classes = 1008

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, self.num_classes)  # part of the published layout; unused for features

    @classmethod
    def from_file(cls, path: str | Path, device: torch.device | str | None = None) -> FIDInceptionV3:
        """Load ``pt_inception-2015-12-05-6726825d.pth`` (or that layout as ``.safetensors``) strictly, eval mode."""
        model = cls()
        model.load_weights(read_state_dict(path, "FID Inception", wrapper_keys=("state_dict",)))
        return model.to(device or "cpu").eval().requires_grad_(False)

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Strict load of the pytorch-fid key layout (``num_batches_tracked`` optional)."""
        load_state_strict(self, state, "FID Inception", optional=("num_batches_tracked",))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images float [B, 3, H, W] in [0, 1] -> pool3 features [B, 2048] (float32)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise VidstyleInputError(f"Inception needs images [B, 3, H, W], got shape {tuple(images.shape)}")
        param = self.fc.weight
        x = images.to(device=param.device, dtype=param.dtype)
        x = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3)).float()
