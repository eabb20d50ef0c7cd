"""RAFT optical flow (Teed & Deng, ECCV 2020), the full model, written here so no torchvision is needed.

VBench's dynamic-degree metric runs this network with the ``raft-things.pth`` checkpoint and 20 refinement
iterations; :class:`RAFTFlow` is the :class:`~vidstyle.metrics.motion.FlowBackend` for it (``name = "raft"``).

Where things come from (princeton-vl/RAFT, read for facts, not copied):

* ``core/raft.py``: ``fnet = BasicEncoder(256, 'instance')``, ``cnet = BasicEncoder(hdim + cdim, 'batch')`` with
  hdim = cdim = 128; 4 correlation levels, radius 4; images mapped ``2 * (x / 255) - 1``; context split into
  ``tanh(net)`` / ``relu(inp)``; flow = coords1 - coords0 on the 1/8 grid; convex upsampling with a mask viewed as
  ``[N, 1, 9, 8, 8, h, w]`` (softmax over the 9 neighbours of ``unfold(8 * flow, 3x3, padding=1)``).
* ``core/extractor.py`` (``BasicEncoder``, ``ResidualBlock``): ``conv1`` 7x7/2 (3->64), ``norm1``, ``layer1..3`` of
  two residual blocks each (64, 96/2, 128/2), ``conv2`` 1x1 (128->out). A block has ``conv1``, ``conv2``, ``norm1``,
  ``norm2`` and, when strided, ``norm3`` plus ``downsample = Sequential(conv 1x1/stride, norm3)``: the same norm
  module under two names, so a checkpoint lists ``layerK.0.norm3.*`` and ``layerK.0.downsample.1.*`` (same values).
  ``nn.InstanceNorm2d`` is used with its defaults (no affine, no running stats), so ``fnet`` norms hold no keys.
* ``core/update.py``: ``BasicMotionEncoder`` (``convc1`` 1x1 324->256, ``convc2`` 3x3 256->192, ``convf1`` 7x7 2->128,
  ``convf2`` 3x3 128->64, ``conv`` 3x3 256->126, output ``cat([out, flow])``), ``SepConvGRU`` (``convz1/convr1/convq1``
  1x5 and ``convz2/convr2/convq2`` 5x1, 384->128), ``FlowHead`` (``conv1`` 3x3 128->256, ``conv2`` 3x3 256->2),
  ``mask = Sequential(conv 3x3 128->256, ReLU, conv 1x1 256->576)`` scaled by 0.25.
* ``core/corr.py`` / ``core/utils/utils.py``: all-pairs correlation ``<f1, f2> / sqrt(256)``, pyramid by
  ``avg_pool2d(2, stride=2)``, lookup at ``coords / 2**level + delta`` with ``bilinear_sampler`` (``grid_sample``,
  ``align_corners=True``, zero padding, pixel coords normalised by ``W - 1`` / ``H - 1``). ``delta`` is
  ``stack(meshgrid(dy, dx), -1)`` added to ``(x, y)``, so window channel ``k = i * 9 + j`` samples at
  ``(x + i - 4, y + j - 4)``: the *slow* window index moves x. This order is kept because the trained ``convc1``
  weights depend on it.
* ``InputPadder`` (``core/utils/utils.py``, default "sintel" mode): replicate padding to a multiple of 8, split
  ``[pad // 2, pad - pad // 2]`` on each axis; the flow is cropped back the same way.

The checkpoint layout (179 tensors: 32 ``fnet``, 117 ``cnet``, 30 ``update_block``; 5,257,536 parameters) matches
torchvision's port table ``map_orig_to_ours`` (references/optical_flow/utils.py) and its ``num_params`` for
``Raft_Large_Weights.C_T_V1``. Official files carry a ``module.`` prefix (saved from ``nn.DataParallel``).

Extensions beyond the official code, both no-ops wherever the official code works:

* feature maps with a side of 1 px (inputs under 128 px) break the official pyramid (``avg_pool2d`` of a 1-px side,
  division by ``W - 1 = 0``); here a 1-px side is not pooled further, and sampling pads it with a zero row/column,
  which is exactly the zero padding ``grid_sample`` applies outside the image;
* loading (strict, through :mod:`vidstyle.metrics.weights`) fills ``norm3`` <-> ``downsample.1`` aliases from each
  other (``safetensors`` files keep one copy of a shared tensor) and missing BatchNorm ``num_batches_tracked``
  counters (unused at inference).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.weights import load_state_strict, read_state_dict

__all__ = [
    "RAFT",
    "RAFTFlow",
    "BasicEncoder",
    "BasicUpdateBlock",
    "CorrPyramid",
    "bilinear_sample",
    "convex_upsample",
    "crop_padding",
    "load_raft_state",
    "pad_to_multiple",
]

HIDDEN_DIM = 128
CONTEXT_DIM = 128
CORR_LEVELS = 4
CORR_RADIUS = 4
UPSAMPLE = 8


# --------------------------------------------------------------------------------------------------------- encoders


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels)  # defaults: affine=False, track_running_stats=False (no state keys)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"unknown norm {kind!r}")


class ResidualBlock(nn.Module):
    """Two 3x3 conv + norm + ReLU with a residual; strided blocks project the skip with a 1x1 conv + norm."""

    def __init__(self, in_planes: int, planes: int, norm: str, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)
        self.relu = nn.ReLU()
        self.norm1 = _norm(norm, planes)
        self.norm2 = _norm(norm, planes)
        self.downsample: nn.Sequential | None = None
        if stride != 1:
            self.norm3 = _norm(norm, planes)  # registered twice on purpose: the checkpoint has both names
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride), self.norm3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, H, W] -> [B, C, H / stride, W / stride]."""
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(skip + y)


class BasicEncoder(nn.Module):
    """RAFT's feature / context encoder: [B, 3, H, W] -> [B, output_dim, H / 8, W / 8]."""

    def __init__(self, output_dim: int, norm: str) -> None:
        super().__init__()
        self.norm1 = _norm(norm, 64)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU()
        self.layer1 = nn.Sequential(ResidualBlock(64, 64, norm), ResidualBlock(64, 64, norm))
        self.layer2 = nn.Sequential(ResidualBlock(64, 96, norm, stride=2), ResidualBlock(96, 96, norm))
        self.layer3 = nn.Sequential(ResidualBlock(96, 128, norm, stride=2), ResidualBlock(128, 128, norm))
        self.conv2 = nn.Conv2d(128, output_dim, 1)
        for m in self.modules():  # the official initialisation (matters only for random-weight use)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 3, H, W] in [-1, 1] -> [B, output_dim, ceil(H / 8), ceil(W / 8)]."""
        x = self.relu1(self.norm1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.conv2(x)


# ---------------------------------------------------------------------------------------------------- update block


class BasicMotionEncoder(nn.Module):
    """Encodes correlation features and the current flow: -> [B, 128, h, w] (126 learned channels + the flow)."""

    def __init__(self, corr_planes: int = CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2) -> None:
        super().__init__()
        self.convc1 = nn.Conv2d(corr_planes, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        """flow [B, 2, h, w], corr [B, 324, h, w] -> [B, 128, h, w]."""
        c = F.relu(self.convc2(F.relu(self.convc1(corr))))
        f = F.relu(self.convf2(F.relu(self.convf1(flow))))
        out = F.relu(self.conv(torch.cat([c, f], dim=1)))
        return torch.cat([out, flow], dim=1)


class SepConvGRU(nn.Module):
    """Convolutional GRU applied twice: a 1x5 (horizontal) pass then a 5x1 (vertical) pass."""

    def __init__(self, hidden_dim: int = HIDDEN_DIM, input_dim: int = 128 + HIDDEN_DIM) -> None:
        super().__init__()
        channels = hidden_dim + input_dim
        for suffix, kernel, pad in (("1", (1, 5), (0, 2)), ("2", (5, 1), (2, 0))):
            for gate in ("z", "r", "q"):
                self.add_module(f"conv{gate}{suffix}", nn.Conv2d(channels, hidden_dim, kernel, padding=pad))

    @staticmethod
    def _step(
        h: torch.Tensor, x: torch.Tensor, conv_z: nn.Module, conv_r: nn.Module, conv_q: nn.Module
    ) -> torch.Tensor:
        """One GRU pass: h [B, hidden, h, w], x [B, input, h, w] -> h [B, hidden, h, w]."""
        hx = torch.cat([h, x], dim=1)
        z = torch.sigmoid(conv_z(hx))
        r = torch.sigmoid(conv_r(hx))
        q = torch.tanh(conv_q(torch.cat([r * h, x], dim=1)))
        return h + z * (q - h)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h [B, hidden, h, w], x [B, input, h, w] -> new h [B, hidden, h, w]."""
        h = self._step(h, x, self.convz1, self.convr1, self.convq1)
        return self._step(h, x, self.convz2, self.convr2, self.convq2)


class FlowHead(nn.Module):
    """Hidden state [B, 128, h, w] -> flow increment [B, 2, h, w]."""

    def __init__(self, input_dim: int = HIDDEN_DIM, hidden_dim: int = 256) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_dim, hidden_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden_dim, 2, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 128, h, w] -> [B, 2, h, w]."""
        return self.conv2(self.relu(self.conv1(x)))


class BasicUpdateBlock(nn.Module):
    """One RAFT refinement step: motion encoder -> SepConvGRU -> flow head, plus the convex-upsampling mask."""

    def __init__(self, hidden_dim: int = HIDDEN_DIM) -> None:
        super().__init__()
        self.encoder = BasicMotionEncoder()
        self.gru = SepConvGRU(hidden_dim=hidden_dim, input_dim=128 + hidden_dim)
        self.flow_head = FlowHead(hidden_dim, hidden_dim=256)
        self.mask = nn.Sequential(
            nn.Conv2d(hidden_dim, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, UPSAMPLE * UPSAMPLE * 9, 1)
        )

    def forward(
        self, net: torch.Tensor, inp: torch.Tensor, corr: torch.Tensor, flow: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """net [B, 128, h, w], inp [B, 128, h, w], corr [B, 324, h, w], flow [B, 2, h, w]
        -> (net [B, 128, h, w], mask [B, 576, h, w], delta_flow [B, 2, h, w])."""
        motion = self.encoder(flow, corr)
        net = self.gru(net, torch.cat([inp, motion], dim=1))
        return net, 0.25 * self.mask(net), self.flow_head(net)


# ----------------------------------------------------------------------------------------------------- correlation


def bilinear_sample(img: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Sample img [M, C, H, W] at pixel coordinates xy [M, Ho, Wo, 2] (x, y) -> [M, C, Ho, Wo].

    Bilinear, zero outside the image, pixel centres at integer coordinates (``grid_sample`` with
    ``align_corners=True``, as RAFT's ``bilinear_sampler``). A 1-px side is padded with a zero row/column first,
    which equals the zero padding and avoids RAFT's division by ``W - 1 = 0``.
    """
    height, width = img.shape[-2:]
    if height == 1 or width == 1:
        img = F.pad(img, (0, int(width == 1), 0, int(height == 1)))
        height, width = img.shape[-2:]
    x, y = xy.unbind(dim=-1)
    grid = torch.stack([2 * x / (width - 1) - 1, 2 * y / (height - 1) - 1], dim=-1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _window_offsets(radius: int, device: torch.device) -> torch.Tensor:
    """[(2r+1), (2r+1), 2] (dx, dy) offsets in RAFT's channel order: entry [i, j] = (i - r, j - r)."""
    steps = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    dx, dy = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([dx, dy], dim=-1)


class CorrPyramid:
    """All-pairs correlation pyramid with a local window lookup.

    Level 0 holds ``corr[b, y1, x1, y2, x2] = <f1[:, y1, x1], f2[:, y2, x2]> / sqrt(C)`` as ``[B*h*w, 1, h, w]``;
    each further level average-pools the (y2, x2) plane by 2 (floor; a 1-px side is left as is).
    """

    def __init__(self, volume: torch.Tensor, levels: int = CORR_LEVELS, radius: int = CORR_RADIUS) -> None:
        """volume [B, h, w, h2, w2]: correlation of every source pixel (h, w) with every target pixel (h2, w2)."""
        if volume.ndim != 5:
            raise ValueError(f"expected a correlation volume [B, h, w, h2, w2], got {tuple(volume.shape)}")
        self.batch, self.height, self.width = volume.shape[:3]
        self.radius = radius
        level = volume.reshape(-1, 1, *volume.shape[3:]).float()
        self.pyramid = [level]
        for _ in range(levels - 1):
            kh, kw = (2 if level.shape[-2] > 1 else 1), (2 if level.shape[-1] > 1 else 1)
            level = F.avg_pool2d(level, (kh, kw), stride=(kh, kw))
            self.pyramid.append(level)

    @classmethod
    def from_features(
        cls, fmap1: torch.Tensor, fmap2: torch.Tensor, levels: int = CORR_LEVELS, radius: int = CORR_RADIUS
    ) -> CorrPyramid:
        """fmap1, fmap2 [B, C, h, w] -> pyramid of the all-pairs dot products scaled by 1 / sqrt(C)."""
        channels = fmap1.shape[1]
        volume = torch.einsum("bcij,bckl->bijkl", fmap1.float(), fmap2.float()) / math.sqrt(channels)
        return cls(volume, levels=levels, radius=radius)

    @property
    def channels(self) -> int:
        """Output channels of :meth:`lookup`: levels * (2r+1)^2 (324 for RAFT)."""
        return len(self.pyramid) * (2 * self.radius + 1) ** 2

    def lookup(self, coords: torch.Tensor) -> torch.Tensor:
        """coords [B, 2, h, w] (x, y target positions on the 1/8 grid) -> [B, levels * (2r+1)^2, h, w].

        Channel ``level * (2r+1)^2 + i * (2r+1) + j`` is level ``level`` sampled at
        ``(x / 2**level + i - r, y / 2**level + j - r)`` (RAFT's order: the slow window index moves x).
        """
        b, _, h, w = coords.shape
        side = 2 * self.radius + 1
        offsets = _window_offsets(self.radius, coords.device).view(1, side, side, 2)
        centres = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2).float()
        out = []
        for index, level in enumerate(self.pyramid):
            sampled = bilinear_sample(level, centres / 2**index + offsets)  # [B*h*w, 1, side, side]
            out.append(sampled.view(b, h, w, side * side))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous()


# ------------------------------------------------------------------------------------------- padding, upsampling


def pad_to_multiple(x: torch.Tensor, multiple: int = UPSAMPLE) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Replicate-pad x [..., H, W] to multiples of ``multiple`` like RAFT's InputPadder ("sintel" mode).

    Returns (padded [..., H', W'], pads (left, right, top, bottom)) with each axis split ``(p // 2, p - p // 2)``.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    pads = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    if not any(pads):
        return x, pads
    lead = x.shape[:-2]
    flat = x.reshape(-1, 1, height, width)  # replicate padding wants a [N, C, H, W] tensor
    padded = F.pad(flat, pads, mode="replicate")
    return padded.reshape(*lead, *padded.shape[-2:]), pads


def crop_padding(x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: x [..., H', W'] -> [..., H' - top - bottom, W' - left - right]."""
    left, right, top, bottom = pads
    height, width = x.shape[-2:]
    return x[..., top : height - bottom, left : width - right]


def convex_upsample(flow: torch.Tensor, mask: torch.Tensor, factor: int = UPSAMPLE) -> torch.Tensor:
    """flow [N, 2, h, w] (1/8-grid pixels), mask [N, 9 * factor^2, h, w] -> flow [N, 2, factor*h, factor*w].

    Each fine pixel is a softmax-weighted combination of the 3x3 coarse neighbours of ``factor * flow`` (zero
    beyond the border); mask channel ``k * factor^2 + a * factor + b`` weighs neighbour ``k`` for sub-pixel
    row ``a``, column ``b``.
    """
    n, _, h, w = flow.shape
    weights = mask.view(n, 9, factor, factor, h, w).softmax(dim=1)
    neighbours = F.unfold(factor * flow, kernel_size=3, padding=1).view(n, 2, 9, h, w)
    fine = torch.einsum("nkabhw,nckhw->nchawb", weights, neighbours)
    return fine.reshape(n, 2, factor * h, factor * w)


def _coords_grid(n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """[n, 2, h, w] pixel coordinates, channel 0 = x, channel 1 = y."""
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=torch.float32),
        torch.arange(w, device=device, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack([xs, ys])[None].expand(n, 2, h, w)


# ------------------------------------------------------------------------------------------------------------ model


class RAFT(nn.Module):
    """The full RAFT network (not RAFT-small); parameter names match ``raft-things.pth`` without ``module.``."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden_dim = HIDDEN_DIM
        self.context_dim = CONTEXT_DIM
        self.fnet = BasicEncoder(output_dim=256, norm="instance")
        self.cnet = BasicEncoder(output_dim=HIDDEN_DIM + CONTEXT_DIM, norm="batch")
        self.update_block = BasicUpdateBlock(hidden_dim=HIDDEN_DIM)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = 12) -> torch.Tensor:
        """image1, image2 float [N, 3, H, W] RGB in [0, 255], any H, W -> flow [N, 2, H, W] (dx, dy) in pixels.

        The images are replicate-padded to multiples of 8 (see :func:`pad_to_multiple`) and the flow is cropped
        back; ``iters`` refinement steps are run and the last convex-upsampled flow is returned.
        """
        if image1.shape != image2.shape or image1.ndim != 4 or image1.shape[1] != 3:
            shapes = f"{tuple(image1.shape)} and {tuple(image2.shape)}"
            raise VidstyleInputError(f"RAFT needs two [N, 3, H, W] images of one shape, got {shapes}")
        if iters < 1:
            raise VidstyleInputError(f"RAFT needs iters >= 1, got {iters}")
        n = image1.shape[0]
        images, pads = pad_to_multiple(torch.cat([image1, image2]).float())
        images = 2 * (images / 255.0) - 1.0

        fmap1, fmap2 = self.fnet(images).split(n)  # instance norm: batching both frames changes nothing
        corr = CorrPyramid.from_features(fmap1, fmap2)
        net, inp = self.cnet(images[:n]).split([self.hidden_dim, self.context_dim], dim=1)
        net, inp = torch.tanh(net), torch.relu(inp)

        _, _, h, w = fmap1.shape
        coords0 = _coords_grid(n, h, w, images.device)
        coords1 = coords0.clone()
        mask = None
        for _ in range(iters):
            flow = coords1 - coords0
            net, mask, delta = self.update_block(net, inp, corr.lookup(coords1), flow)
            coords1 = coords1 + delta
        return crop_padding(convex_upsample(coords1 - coords0, mask), pads)


# ------------------------------------------------------------------------------------------------------- weights


def load_raft_state(model: RAFT, state: Mapping[str, torch.Tensor], what: str = "RAFT") -> None:
    """Load an official RAFT state dict strictly, with or without the ``module.`` (DataParallel) prefix.

    Only two gaps are filled, neither carrying information the official file does not: a ``cnet`` strided block's
    ``norm3.*`` / ``downsample.1.*`` alias from its twin, and BatchNorm ``num_batches_tracked`` counters.
    """
    prefixed = [key.startswith("module.") for key in state]
    if any(prefixed) and not all(prefixed):
        raise VidstyleInputError(f"{what} weights mix keys with and without the 'module.' prefix")
    renamed = {key.removeprefix("module."): value for key, value in state.items()}
    for name, module in model.named_modules():
        if isinstance(module, ResidualBlock) and module.downsample is not None and name.startswith("cnet."):
            for attr in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                a, b = f"{name}.norm3.{attr}", f"{name}.downsample.1.{attr}"
                if a in renamed and b not in renamed:
                    renamed[b] = renamed[a]
                elif b in renamed and a not in renamed:
                    renamed[a] = renamed[b]
    load_state_strict(model, renamed, what, optional=("num_batches_tracked",))


# ----------------------------------------------------------------------------------------------------- backend


def _check_frames(a: np.ndarray, b: np.ndarray, ndim: int) -> None:
    layout = "[H, W, 3]" if ndim == 3 else "[N, H, W, 3]"
    for frames in (a, b):
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != ndim:
            got = f"{getattr(frames, 'dtype', type(frames).__name__)} {getattr(frames, 'shape', '')}"
            raise VidstyleInputError(f"RAFT flow expects uint8 frames {layout}, got {got}")
        if frames.shape[-1] != 3:
            raise VidstyleInputError(f"RAFT flow expects uint8 frames {layout}, got shape {frames.shape}")
    if a.shape != b.shape:
        raise VidstyleInputError(f"RAFT flow frame shapes differ: {a.shape} vs {b.shape}")


class RAFTFlow:
    """:class:`~vidstyle.metrics.motion.FlowBackend` running RAFT (VBench uses ``raft-things.pth``, 20 iters)."""

    name = "raft"

    def __init__(
        self, model: nn.Module, iters: int = 20, device: str | torch.device = "cpu", batch_size: int = 4
    ) -> None:
        """model: a :class:`RAFT` (trained or random weights) or any module with the same ``forward``.

        ``batch_size`` pairs go through the network at once in :meth:`flow_batch` (the all-pairs volume takes
        ``4 * (H/8 * W/8)^2`` bytes per pair).
        """
        if not isinstance(iters, int) or iters < 1:
            raise VidstyleInputError(f"RAFT iters must be a positive integer, got {iters!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise VidstyleInputError(f"RAFT batch_size must be a positive integer, got {batch_size!r}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.iters = iters
        self.batch_size = batch_size

    @classmethod
    def from_file(
        cls, path: str | Path, iters: int = 20, device: str | torch.device = "cpu", batch_size: int = 4
    ) -> RAFTFlow:
        """Load ``raft-things.pth`` (or a ``.safetensors`` copy) strictly, with or without ``module.`` keys."""
        model = RAFT()
        load_raft_state(model, read_state_dict(path, "RAFT"), what=f"RAFT {Path(path).name}")
        return cls(model, iters=iters, device=device, batch_size=batch_size)

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (uint8 ``[H, W, 3]``) as float32 ``[H, W, 2]`` (dx, dy): a(p) ~ b(p + flow(p))."""
        _check_frames(a, b, ndim=3)
        return self.flow_batch(a[None], b[None])[0]

    def flow_batch(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flows for pairs a[i] -> b[i] (uint8 ``[N, H, W, 3]`` each) as float32 ``[N, H, W, 2]``."""
        _check_frames(a, b, ndim=4)
        out = np.empty((*a.shape[:3], 2), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, a.shape[0], self.batch_size):
                stop = start + self.batch_size
                x = torch.from_numpy(np.ascontiguousarray(a[start:stop])).to(self.device).permute(0, 3, 1, 2)
                y = torch.from_numpy(np.ascontiguousarray(b[start:stop])).to(self.device).permute(0, 3, 1, 2)
                flow = self.model(x.float(), y.float(), iters=self.iters)
                out[start:stop] = flow.permute(0, 2, 3, 1).float().cpu().numpy()
        return out
