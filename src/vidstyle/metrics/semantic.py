"""Semantic metrics from pretrained encoders: CLIP-T text alignment and DINO-ViT structure / appearance similarity.

Encoders are transformers models (``CLIPModel``, ``ViTModel``, ``Dinov2Model``) loaded or built by the caller.
Frames are ``uint8`` arrays or tensors of shape [F, H, W, 3].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

_KEY_SUFFIXES = (".key", ".k_proj")


def _images(frames: np.ndarray | torch.Tensor | Sequence[np.ndarray]) -> list[np.ndarray]:
    """uint8 [F, H, W, 3] -> list of F uint8 [H, W, 3] arrays."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    images = [np.asarray(f) for f in frames]
    for image in images:
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"frames must be [F, H, W, 3], got a frame of shape {image.shape}")
    return [image.astype(np.uint8, copy=False) for image in images]


def _pixels(image_processor, frames, model: nn.Module) -> torch.Tensor:
    """uint8 [F, H, W, 3] -> processed pixel values [F, 3, h, w] on the model's device/dtype."""
    pixels = image_processor(images=_images(frames), return_tensors="pt")["pixel_values"]
    param = next(model.parameters())
    return pixels.to(device=param.device, dtype=param.dtype)


def _features(out) -> torch.Tensor:
    """``get_*_features`` output (a tensor, or a model output whose ``pooler_output`` is projected) -> [N, P]."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _check_pair(a_frames, b_frames) -> None:
    if len(a_frames) != len(b_frames):
        raise ValueError(f"frame counts differ: {len(a_frames)} vs {len(b_frames)}")
    if len(a_frames) == 0:
        raise ValueError("no frames given")


@torch.no_grad()
def clip_text_score(model, image_processor, tokenizer, frames, prompt: str, name: str = "clip") -> dict[str, float]:
    """CLIP-T = 100 · mean cos over frames between projected image (``get_image_features``) and text embeddings.

    ``frames``: uint8 [F, H, W, 3]. Returns ``{"clip_t@<name>": score}`` with score in [-100, 100].
    """
    if len(frames) == 0:
        raise ValueError("no frames given")
    model.eval()
    pixels = _pixels(image_processor, frames, model)
    device = pixels.device
    text = tokenizer([prompt], padding=True, truncation=True, return_tensors="pt")
    text_emb = _features(model.get_text_features(input_ids=text["input_ids"].to(device),
                                                 attention_mask=text["attention_mask"].to(device)))  # [1, P]
    image_emb = _features(model.get_image_features(pixel_values=pixels))  # [F, P]
    cos = torch.nn.functional.cosine_similarity(image_emb.float(), text_emb.float(), dim=-1)  # [F]
    return {f"clip_t@{name}": 100.0 * cos.mean().item()}


def last_key_projection(model: nn.Module) -> nn.Linear:
    """The last attention key projection ``nn.Linear`` (named ``*.key`` or ``*.k_proj``) in registration order."""
    found = [m for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(_KEY_SUFFIXES)]
    if not found:
        raise ValueError(f"no attention key projection ({'/'.join(_KEY_SUFFIXES)}) found in {type(model).__name__}")
    return found[-1]


@torch.no_grad()
def _last_keys_and_cls(model, image_processor, frames) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 [F, H, W, 3] -> (last-layer keys [F, T, D] incl. CLS, CLS of the last hidden state [F, C])."""
    model.eval()
    captured: list[torch.Tensor] = []
    hook = last_key_projection(model).register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        out = model(pixel_values=_pixels(image_processor, frames, model), output_attentions=False)
    finally:
        hook.remove()
    return captured[-1].float(), out.last_hidden_state[:, 0].float()


def _self_similarity(keys: torch.Tensor) -> torch.Tensor:
    """Keys [F, T, D] -> cosine self-similarity [F, T, T]."""
    k = torch.nn.functional.normalize(keys, dim=-1)
    return k @ k.transpose(-1, -2)


def dino_self_similarity_distance(model, image_processor, a_frames, b_frames, name: str = "dino") -> dict[str, float]:
    """DINO structure distance (Splicing-ViT): mean over frames of ||S_a - S_b||_F^2 / T^2, lower is better.

    S = cos(K_i, K_j) [T, T] over the last layer's keys K [T, D] (all tokens incl. CLS). Frames: uint8 [F, H, W, 3]
    each, equal F. Returns ``{"dino_struct_dist@<name>": distance}``.
    """
    _check_pair(a_frames, b_frames)
    s_a = _self_similarity(_last_keys_and_cls(model, image_processor, a_frames)[0])
    s_b = _self_similarity(_last_keys_and_cls(model, image_processor, b_frames)[0])
    return {f"dino_struct_dist@{name}": (s_a - s_b).pow(2).mean(dim=(-2, -1)).mean().item()}


def dino_cls_similarity(model, image_processor, a_frames, b_frames, name: str = "dino") -> dict[str, float]:
    """Mean over frames of the cosine between last-hidden-state CLS tokens [C], higher is better.

    Frames: uint8 [F, H, W, 3] each, equal F. Returns ``{"dino_cls_cos@<name>": cos}``.
    """
    _check_pair(a_frames, b_frames)
    cls_a = _last_keys_and_cls(model, image_processor, a_frames)[1]
    cls_b = _last_keys_and_cls(model, image_processor, b_frames)[1]
    return {f"dino_cls_cos@{name}": torch.nn.functional.cosine_similarity(cls_a, cls_b, dim=-1).mean().item()}


def dino_cls_features(model, image_processor, frames) -> torch.Tensor:
    """Per-frame CLS features of the last hidden state: uint8 [F, H, W, 3] -> float32 [F, C] (subject consistency)."""
    if len(frames) == 0:
        raise ValueError("no frames given")
    return _last_keys_and_cls(model, image_processor, frames)[1]
