"""Semantic metrics (CLIP-T, DINO structure distance, DINO CLS cosine) on tiny random in-process encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from transformers import ViTConfig, ViTModel

from vidstyle.metrics.semantic import (
    clip_text_score,
    dino_cls_similarity,
    dino_self_similarity_distance,
    last_key_projection,
)
from vidstyle.style.tiny import build_tiny_clip


def _frames(seed: int, n: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 40, 48, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def clip():
    return build_tiny_clip(seed=0)


@pytest.fixture(scope="module")
def dino():
    torch.manual_seed(0)
    config = ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                       image_size=32, patch_size=8)
    model = ViTModel(config, add_pooling_layer=False).eval()
    if hasattr(transformers, "ViTImageProcessorPil"):
        processor = transformers.ViTImageProcessorPil(size={"height": 32, "width": 32})
    else:
        processor = transformers.CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size=32)
    return model, processor


def test_clip_t_range_determinism_and_prompt_sensitivity(clip) -> None:
    model, tokenizer, processor = clip
    frames = _frames(0)
    a = clip_text_score(model, processor, tokenizer, frames, "a red car", name="tiny")
    b = clip_text_score(model, processor, tokenizer, frames, "a red car", name="tiny")
    c = clip_text_score(model, processor, tokenizer, frames, "an oil painting of mountains", name="tiny")
    assert set(a) == {"clip_t@tiny"}
    assert -100.0 <= a["clip_t@tiny"] <= 100.0
    assert a == b
    assert a["clip_t@tiny"] != c["clip_t@tiny"]


def test_last_key_projection_is_last_layer(dino) -> None:
    model, _ = dino
    key = last_key_projection(model)
    assert isinstance(key, torch.nn.Linear)
    last = dict(model.named_modules())
    assert any(m is key for n, m in last.items() if ".1." in n)


def test_dino_identities(dino) -> None:
    model, processor = dino
    frames = _frames(1)
    dist = dino_self_similarity_distance(model, processor, frames, frames, name="vit-tiny")
    cos = dino_cls_similarity(model, processor, frames, frames, name="vit-tiny")
    assert set(dist) == {"dino_struct_dist@vit-tiny"} and set(cos) == {"dino_cls_cos@vit-tiny"}
    assert dist["dino_struct_dist@vit-tiny"] < 1e-10
    assert cos["dino_cls_cos@vit-tiny"] == pytest.approx(1.0, abs=1e-6)


def test_dino_different_videos(dino) -> None:
    model, processor = dino
    a, b = _frames(1), _frames(2)
    assert dino_self_similarity_distance(model, processor, a, b, name="v")["dino_struct_dist@v"] > 0
    assert dino_cls_similarity(model, processor, a, b, name="v")["dino_cls_cos@v"] < 1.0


def test_mismatched_frame_counts_raise(dino) -> None:
    model, processor = dino
    with pytest.raises(ValueError):
        dino_self_similarity_distance(model, processor, _frames(1, 3), _frames(2, 2))
    with pytest.raises(ValueError):
        dino_cls_similarity(model, processor, _frames(1, 3), _frames(2, 2))
