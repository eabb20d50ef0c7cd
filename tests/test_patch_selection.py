"""The local-patch ablation of the style extractor: least-similar k (default), all patches, none."""

from __future__ import annotations

import json

import pytest
import torch

from vidstyle.errors import VidstyleInputError
from vidstyle.style import StyleExtractor, StyleExtractorConfig, build_tiny_clip, select_least_similar

OUT_DIM, QUERIES, GLOBAL = 24, 4, 2


@pytest.fixture(scope="module")
def tiny_clip():
    return build_tiny_clip(seed=0)


def extractor(clip, **options) -> StyleExtractor:
    config = StyleExtractorConfig(clip_model="tiny", out_dim=OUT_DIM, qformer_queries=QUERIES, qformer_heads=2,
                                  num_global_tokens=GLOBAL, projection_hidden=32, num_patches=5, **options)
    return StyleExtractor(config, clip)


def inputs(tokenizer, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CLIP-normalised pixels ``[B, 3, 32, 32]`` (seeded) and the tokenised ``prompts`` ``[B, 77]``."""
    pixels = torch.randn(len(prompts), 3, 32, 32, generator=torch.Generator().manual_seed(1))
    text = tokenizer(prompts, padding="max_length", max_length=77, return_tensors="pt")
    return pixels, text["input_ids"], text["attention_mask"]


def test_default_is_least_similar_and_unchanged(tiny_clip):
    clip, tokenizer, _ = tiny_clip
    assert StyleExtractorConfig().local_patches == "least_similar"
    model = extractor(clip)
    pixels, ids, mask = inputs(tokenizer, ["a cat on a sofa", "a red car"])
    out = model(pixels, ids, mask)
    with torch.no_grad():
        patches = clip.vision_model.post_layernorm(clip.vision_model(pixel_values=pixels).last_hidden_state[:, 1:])
        text = clip.text_projection(clip.text_model(input_ids=ids, attention_mask=mask).pooler_output)
    assert torch.equal(out.selected_indices, select_least_similar(clip.visual_projection(patches), text, 5))
    assert out.tokens.shape == (2, QUERIES + GLOBAL, OUT_DIM)
    explicit = extractor(clip, local_patches="least_similar")(pixels, ids, mask)
    assert torch.equal(explicit.tokens, out.tokens)


def test_all_feeds_every_patch_and_ignores_the_prompt(tiny_clip):
    clip, tokenizer, _ = tiny_clip
    model = extractor(clip, local_patches="all")
    captured = []
    hook = model.qformer.register_forward_pre_hook(lambda _m, args: captured.append(args[0].shape))
    try:
        a = model(*inputs(tokenizer, ["a cat on a sofa", "a red car"]))
        b = model(*inputs(tokenizer, ["zebra stripes", "the night sky over a lake"]))
    finally:
        hook.remove()
    assert captured[0] == (2, 64, 16)  # the tiny CLIP's 64 patches, its hidden width 16
    assert a.tokens.shape == (2, QUERIES + GLOBAL, OUT_DIM)
    assert torch.equal(a.selected_indices, torch.arange(64).expand(2, 64))
    assert torch.equal(a.local, b.local)  # the prompt plays no part
    default = extractor(clip)
    c = default(*inputs(tokenizer, ["a cat on a sofa", "a red car"]))
    d = default(*inputs(tokenizer, ["zebra stripes", "the night sky over a lake"]))
    assert not torch.equal(c.local, d.local)  # (while the default's local tokens follow it)


def test_none_gives_only_the_global_tokens(tiny_clip):
    clip, tokenizer, _ = tiny_clip
    batch = inputs(tokenizer, ["a cat on a sofa", "a red car"])
    out = extractor(clip, local_patches="none")(*batch)
    assert out.tokens.shape == (2, GLOBAL, OUT_DIM) and out.local.shape == (2, 0, OUT_DIM)
    assert out.selected_indices.shape == (2, 0)
    torch.testing.assert_close(out.tokens, extractor(clip)(*batch).global_)  # same seed: the same global branch
    out.tokens.sum().backward()  # trainable through the global branch alone
    assert extractor(clip, local_patches="none").local_out.weight.grad is None


def test_config_values_and_old_saved_configs(tiny_clip, tmp_path):
    clip = tiny_clip[0]
    with pytest.raises(VidstyleInputError, match="local_patches"):
        StyleExtractorConfig(local_patches="most_similar")
    extractor(clip, local_patches="none").save_pretrained(tmp_path / "none")
    assert StyleExtractor.from_pretrained(tmp_path / "none", clip_model=clip).config.local_patches == "none"
    path = tmp_path / "none" / "style_extractor.json"
    raw = json.loads(path.read_text())
    del raw["local_patches"]  # saved before the option existed
    path.write_text(json.dumps(raw))
    assert StyleExtractor.from_pretrained(tmp_path / "none", clip_model=clip).config.local_patches == "least_similar"
