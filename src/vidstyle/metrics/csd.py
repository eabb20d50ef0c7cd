"""CSD style descriptor (Somepalli et al. 2024, "Measuring Style Similarity in Diffusion Models").

Architecture: the OpenAI CLIP ViT-L/14 vision tower (224 px, patch 14, width 1024, 24 layers, 16 heads, QuickGELU,
pre-norm blocks, ``ln_pre`` / ``ln_post``) without CLIP's own ``proj``, followed by two [1024, 768] matrices: the style
head ``last_layer_style`` and the content head ``last_layer_content``. The style feature is
``normalize(ln_post(CLS) @ last_layer_style)``.

Weight layout accepted by :meth:`CSDStyleEncoder.from_file` (loaded strictly), as verified against the sources:

* learn2phoenix/CSD ``CSD/model.py``: ``CSD_CLIP`` keeps ``clip.load("ViT-L/14")[0].visual`` as ``backbone``, copies
  its ``proj`` into the parameters ``last_layer_style`` and ``last_layer_content`` (default content head) and sets
  ``backbone.proj = None``, so the checkpoint has no ``backbone.proj`` key;
* learn2phoenix/CSD ``CSD/train_csd.py``: ``checkpoint.pth`` is ``{"model_state_dict": <DDP state dict>, "opt_bb",
  "opt_proj", "iter", "args": argparse.Namespace, ...}``, hence the ``module.`` prefix (stripped here) and the
  ``argparse.Namespace`` allowed when unpickling with ``weights_only=True``;
* openai/CLIP ``clip/model.py`` ``VisionTransformer``: ``conv1.weight`` [W, 3, P, P] (no bias), ``class_embedding``
  [W], ``positional_embedding`` [(S/P)^2 + 1, W], ``ln_pre.{weight,bias}``,
  ``transformer.resblocks.{i}.attn.{in_proj_weight [3W, W], in_proj_bias [3W], out_proj.weight, out_proj.bias}``
  (``nn.MultiheadAttention``, q/k/v stacked in that order), ``ln_1``, ``mlp.c_fc`` [4W, W], ``mlp.c_proj`` [W, 4W],
  ``ln_2``, ``ln_post``; LayerNorm eps 1e-5; QuickGELU ``x * sigmoid(1.702 x)``; ``ln_post`` on the CLS token.

So the accepted keys are ``[module.]backbone.<VisionTransformer keys above>``, ``[module.]last_layer_style`` [W, D]
and ``[module.]last_layer_content`` [W, D]; the file may be the whole training checkpoint (``model_state_dict``), a
``state_dict``-wrapped or a bare state dict, ``.pth``/``.bin`` or ``.safetensors``.

Preprocessing is CSD's ``transforms_branch0``: resize the shorter side to 224 (PIL bicubic), centre crop 224,
``/255``, normalise with the CLIP mean/std.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.weights import load_state_strict, read_state_dict

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
Head = Literal["style", "content"]


class QuickGELU(nn.Module):
    """OpenAI CLIP's activation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class PackedSelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter names (packed q/k/v projection)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, W] -> [B, T, W]."""
        b, t, w = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).split(w, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)  # [B, heads, T, W / heads]
        return self.out_proj(out.transpose(1, 2).reshape(b, t, w))


class MLP(nn.Module):
    """``c_fc`` [4W, W] -> QuickGELU -> ``c_proj`` [W, 4W]."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, W] -> [B, T, W]."""
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = PackedSelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = MLP(width)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, W] -> [B, T, W]."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``resblocks``: a stack of ``layers`` blocks (the key prefix of OpenAI CLIP)."""

    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, W] -> [B, T, W]."""
        return self.resblocks(x)


class ClipVisionTower(nn.Module):
    """OpenAI CLIP ``VisionTransformer`` without ``proj``: pixels -> ``ln_post(CLS)``."""

    def __init__(self, image_size: int, patch_size: int, width: int, layers: int, heads: int) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch_size}")
        scale = width**-0.5
        grid = image_size // patch_size
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B, 3, S, S] (CLIP-normalised) -> ``ln_post`` of the CLS token [B, W]."""
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # [B, grid^2, W]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0])


def _frames_uint8(frames: np.ndarray | torch.Tensor | Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    """uint8 [F, H, W, 3] (array, tensor or list of [H, W, 3]) -> list of F contiguous uint8 [H, W, 3] arrays."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    images = [np.asarray(f) for f in frames]
    if not images:
        raise VidstyleInputError(f"no {what} given")
    for image in images:
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise VidstyleInputError(
                f"{what} must be uint8 [F, H, W, 3], got a frame of shape {image.shape} and dtype {image.dtype}"
            )
    return [np.ascontiguousarray(image) for image in images]


def _resize_crop(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [size, size, 3]: shorter side to ``size`` (PIL bicubic), centre crop."""
    h, w = image.shape[:2]
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    pil = Image.fromarray(image)
    if (new_w, new_h) != (w, h):
        pil = pil.resize((new_w, new_h), Image.Resampling.BICUBIC)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    return np.asarray(pil)[top : top + size, left : left + size]


def architecture_from_state(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """``__init__`` keywords from checkpoint shapes: width and patch from ``backbone.conv1.weight`` [W, 3, P, P],
    image size from ``backbone.positional_embedding`` [(S/P)^2 + 1, W], layers from the ``resblocks`` indices,
    output width from ``last_layer_style`` [W, D]; heads = W / 64 (OpenAI CLIP's rule, 16 for ViT-L/14).
    Keys that are absent leave the default (the strict load then names what is missing)."""
    found: dict[str, int] = {}
    conv = state.get("backbone.conv1.weight")
    if isinstance(conv, torch.Tensor) and conv.ndim == 4:
        found["width"], found["patch_size"] = int(conv.shape[0]), int(conv.shape[-1])
        found["heads"] = max(1, found["width"] // 64)
        positions = state.get("backbone.positional_embedding")
        if isinstance(positions, torch.Tensor) and positions.ndim == 2:
            side = math.isqrt(max(0, positions.shape[0] - 1))
            if side * side == positions.shape[0] - 1:
                found["image_size"] = side * found["patch_size"]
    blocks = {int(k.split(".")[3]) for k in state if k.startswith("backbone.transformer.resblocks.")}
    if blocks:
        found["layers"] = max(blocks) + 1
    head = state.get("last_layer_style")
    if isinstance(head, torch.Tensor) and head.ndim == 2:
        found["output_dim"] = int(head.shape[1])
    return found


class CSDStyleEncoder(nn.Module):
    """CSD: CLIP ViT vision tower + style/content heads; random weights until loaded (see the module docstring).

    The defaults are the released CSD ViT-L/14; smaller configurations are for tests.
    """

    def __init__(
        self,
        image_size: int = 224,
        patch_size: int = 14,
        width: int = 1024,
        layers: int = 24,
        heads: int = 16,
        output_dim: int = 768,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.backbone = ClipVisionTower(image_size, patch_size, width, layers, heads)
        self.last_layer_style = nn.Parameter(width**-0.5 * torch.randn(width, output_dim))
        self.last_layer_content = nn.Parameter(width**-0.5 * torch.randn(width, output_dim))
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_file(
        cls, path: str | Path, device: torch.device | str | None = None, **architecture: int
    ) -> CSDStyleEncoder:
        """Load the official checkpoint layout strictly, in eval mode without gradients, on ``device`` (default CPU).

        The architecture is read from the weights' shapes (:func:`architecture_from_state`); ``architecture``
        (``__init__`` keyword arguments) overrides it, e.g. ``heads`` for a tower that is not 64 wide per head.
        """
        state = read_state_dict(
            path,
            "CSD",
            wrapper_keys=("model_state_dict", "state_dict"),
            strip_prefix="module.",
            allowed_globals=(argparse.Namespace,),
        )
        model = cls(**{**architecture_from_state(state), **architecture})
        model.load_weights(state)
        return model.to(device or "cpu").eval().requires_grad_(False)

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load ``backbone.*``, ``last_layer_style``, ``last_layer_content`` (``module.`` already stripped)."""
        load_state_strict(self, state, "CSD")

    def preprocess(self, frames: np.ndarray | torch.Tensor | Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 [F, H, W, 3] -> CLIP-normalised pixels [F, 3, S, S] (S = ``image_size``) on the model's device."""
        images = [_resize_crop(image, self.image_size) for image in _frames_uint8(frames, "CSD frames")]
        pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        pixels = pixels.to(device=self.mean.device, dtype=torch.float32) / 255.0
        return (pixels - self.mean) / self.std

    def forward(self, pixels: torch.Tensor, head: Head = "style") -> torch.Tensor:
        """pixels [B, 3, S, S] (from :meth:`preprocess`) -> unit-norm style (or content) features [B, D]."""
        weight = self.last_layer_style if head == "style" else self.last_layer_content
        feature = self.backbone(pixels.to(weight.dtype))  # [B, W]
        return F.normalize((feature @ weight).float(), dim=-1)

    @torch.no_grad()
    def embed(
        self, frames: np.ndarray | torch.Tensor | Sequence[np.ndarray], head: Head = "style", batch_size: int = 16
    ) -> torch.Tensor:
        """uint8 frames [F, H, W, 3] -> unit-norm CSD features [F, D] (float32, on the model's device)."""
        images = _frames_uint8(frames, "CSD frames")
        chunks = [self(self.preprocess(images[i : i + batch_size]), head) for i in range(0, len(images), batch_size)]
        return torch.cat(chunks)


def csd_score(
    encoder: CSDStyleEncoder,
    frames: np.ndarray | torch.Tensor | Sequence[np.ndarray],
    references: np.ndarray | torch.Tensor | Sequence[np.ndarray],
    name: str = "csd-vit-l14",
) -> dict[str, float]:
    """CSD score: cosine between the CSD style features of output frames and style references.

    As in StyleMaster / DreamStyle, the score of a video is the cosine between each frame's and the style reference's
    CSD features, averaged over frames; with several references it is averaged over all (frame, reference) pairs.
    ``frames``: uint8 [F, H, W, 3]; ``references``: uint8 [R, H, W, 3] or one image [H, W, 3].
    Returns ``{"csd@<name>": score}`` with score in [-1, 1].
    """
    if isinstance(references, (np.ndarray, torch.Tensor)) and references.ndim == 3:
        references = references[None]
    out = encoder.embed(frames)  # [F, D]
    ref = encoder.embed(references)  # [R, D]
    return {f"csd@{name}": (out @ ref.T).mean().item()}
