"""Feature extractors for distribution metrics built on transformers models.

``DINOv2Features``: the CLS token (after the final LayerNorm, ``pooler_output``) of a transformers ``Dinov2Model``.
Preprocessing follows the DINOv2 image processor, done on tensors: shorter side resized (bicubic, antialiased) to
``resize``, centre crop ``crop``, ImageNet mean/std normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.errors import VidstyleInputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_SIZE_NAMES = {384: "s", 768: "b", 1024: "l", 1536: "g"}


def dinov2_name(config) -> str:
    """``dinov2-vit{s,b,l,g}{patch}`` from a ``Dinov2Config`` (``dinov2-d{hidden}p{patch}`` for other widths)."""
    size = _SIZE_NAMES.get(config.hidden_size)
    if size is None:
        return f"dinov2-d{config.hidden_size}p{config.patch_size}"
    return f"dinov2-vit{size}{config.patch_size}"


def _field(size, key: str) -> int | None:
    """``size[key]`` of an image processor's size (a dict or a ``SizeDict``), or None."""
    if size is None:
        return None
    return size.get(key) if isinstance(size, dict) else getattr(size, key, None)


def _resize_shorter_crop(images: torch.Tensor, resize: int, crop: int) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3, crop, crop]: shorter side to ``resize`` (bicubic, antialiased), centre crop."""
    h, w = images.shape[-2:]
    scale = resize / min(h, w)
    size = (max(crop, int(h * scale)), max(crop, int(w * scale)))
    if size != (h, w):
        images = F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True)
    top, left = int(round((size[0] - crop) / 2.0)), int(round((size[1] - crop) / 2.0))
    return images[..., top : top + crop, left : left + crop].clamp(0.0, 1.0)


class DINOv2Features:
    """FeatureExtractor: images float [B, 3, H, W] in [0, 1] -> DINOv2 CLS features [B, hidden_size] (float32)."""

    def __init__(
        self,
        model: nn.Module,
        name: str | None = None,
        *,
        resize: int = 256,
        crop: int = 224,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        """``model``: a built ``Dinov2Model`` (e.g. from a tiny random ``Dinov2Config``), put in eval mode."""
        self.model = model.eval().requires_grad_(False)
        self.name = name or dinov2_name(model.config)
        self.resize, self.crop = int(resize), int(crop)
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1)

    @classmethod
    def from_pretrained(
        cls,
        id_or_dir: str | Path,
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> DINOv2Features:
        """Load ``Dinov2Model`` (and, when present, its image processor's sizes and mean/std) from a hub id or dir."""
        from transformers import AutoImageProcessor, Dinov2Model

        try:
            model = Dinov2Model.from_pretrained(str(id_or_dir), **({"dtype": dtype} if dtype is not None else {}))
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise VidstyleInputError(f"cannot load a DINOv2 model from {id_or_dir}: {first}") from err
        options = {}
        try:
            processor = AutoImageProcessor.from_pretrained(str(id_or_dir))
        except (OSError, ValueError):  # no preprocessor_config.json: keep the DINOv2 defaults
            processor = None
        if processor is not None:
            resize = _field(getattr(processor, "size", None), "shortest_edge")
            crop = _field(getattr(processor, "crop_size", None), "height")
            options.update({k: v for k, v in (("resize", resize), ("crop", crop)) if v is not None})
            options.update(mean=processor.image_mean, std=processor.image_std)
        return cls(model.to(device or "cpu"), name, **options)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """images float [B, 3, H, W] in [0, 1] -> normalised pixels [B, 3, crop, crop] on the model's device/dtype."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise VidstyleInputError(f"DINOv2 features need images [B, 3, H, W], got shape {tuple(images.shape)}")
        param = next(self.model.parameters())
        x = _resize_shorter_crop(images.to(device=param.device, dtype=torch.float32), self.resize, self.crop)
        x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        return x.to(param.dtype)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """images float [B, 3, H, W] in [0, 1] -> CLS features [B, hidden_size] (float32)."""
        out = self.model(pixel_values=self.preprocess(images))
        return out.pooler_output.float()
