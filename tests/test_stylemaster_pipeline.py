"""StyleMasterPipeline on tiny Wan T2V components: generation, transfer, guidance, parts on disk."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle import StyleMasterPipeline
from vidstyle.adapters.motion_lora import MotionLoRAAdapter, MotionLoRAConfig
from vidstyle.adapters.tile_controlnet import WanTileControlNet
from vidstyle.backbones import build_tiny_components
from vidstyle.guidance import three_pass_guidance
from vidstyle.style import StyleExtractor, StyleExtractorConfig, build_tiny_clip

RNG = np.random.default_rng(3)
STYLE = Image.fromarray(RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8))
OTHER_STYLE = Image.fromarray(RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)[:, ::-1].copy())
VIDEO = RNG.integers(0, 256, (9, 32, 48, 3), dtype=np.uint8)
EXTRACTOR = dict(clip_model="tiny", out_dim=24, num_patches=5, qformer_queries=4, qformer_heads=2,
                 num_global_tokens=2, projection_hidden=32)


def randomise(params, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def make_pipe(trained: bool = True, motion: bool = True) -> StyleMasterPipeline:
    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.set_progress_bar_config(disable=True)
    clip, tokenizer, processor = build_tiny_clip()
    controlnet = WanTileControlNet(pipe.transformer)
    motion_lora = MotionLoRAAdapter(pipe.transformer, MotionLoRAConfig(rank=4)) if motion else None
    pipe.set_stylemaster(StyleExtractor(StyleExtractorConfig(**EXTRACTOR), clip), processor, tokenizer,
                         motion_lora=motion_lora, controlnet=controlnet)
    if trained:  # stand-in for trained weights: every added part non-trivial
        randomise(pipe.style_attention.parameters(), 1)
        randomise(controlnet.zero_projections.parameters(), 2)
        if motion:
            randomise(motion_lora.parameters(), 3)
    return pipe


@pytest.fixture(scope="module")
def pipe() -> StyleMasterPipeline:
    return make_pipe()


def generate(pipe, seed=0, **kwargs) -> np.ndarray:
    kwargs.setdefault("style_image", STYLE)
    kwargs.setdefault("num_frames", 9)
    return pipe("a cat", height=32, width=48, num_inference_steps=3, generator=torch.Generator().manual_seed(seed),
                **kwargs).frames


def test_three_pass_guidance_formula():
    neg, text, full = torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([4.0])
    assert three_pass_guidance(neg, text, full, 8.0, 4.0).item() == 1 + 8 * 2 + 4 * 1
    assert three_pass_guidance(neg, text, full, 1.0, 0.0).item() == 3.0  # plain text conditional
    assert three_pass_guidance(neg, text, full, 1.0, 1.0).item() == 4.0  # full conditional


def test_three_transformer_passes_per_step(pipe):
    calls = []
    hook = pipe.transformer.register_forward_pre_hook(
        lambda m, a, k: calls.append(k.get("attention_kwargs") or {}), with_kwargs=True)
    try:
        generate(pipe)
    finally:
        hook.remove()
    assert len(calls) == 9
    assert sum("style_tokens" in c for c in calls) == 3  # only the full pass carries the style


def test_generation_is_seeded_and_follows_the_style(pipe):
    out = generate(pipe)
    assert out.shape == (1, 9, 32, 48, 3) and 0 <= out.min() and out.max() <= 1
    np.testing.assert_array_equal(out, generate(pipe))
    assert np.abs(out - generate(pipe, seed=1)).max() > 1e-3
    assert np.abs(out - generate(pipe, style_image=OTHER_STYLE)).max() > 1e-4


def test_single_image_is_a_one_frame_video(pipe):
    out = generate(pipe, num_frames=1)
    assert out.shape == (1, 1, 32, 48, 3)


def test_transfer_uses_the_controlnet_inside_its_window_only(pipe):
    transferred = generate(pipe, video=VIDEO)
    assert transferred.shape == (1, 9, 32, 48, 3)
    assert np.abs(transferred - generate(pipe)).max() > 1e-4  # the control acts
    never_active = generate(pipe, video=VIDEO, control_fraction=0.0)
    np.testing.assert_array_equal(never_active, generate(pipe))  # outside the window nothing changes
    zero_scale = generate(pipe, video=VIDEO, control_scale=0.0)
    np.testing.assert_array_equal(zero_scale, generate(pipe))


def test_motion_scale_zero_equals_no_motion_adapter():
    with_motion, without = make_pipe(), make_pipe(motion=False)
    np.testing.assert_allclose(generate(with_motion, motion_scale=0.0), generate(without), atol=1e-6)
    assert np.abs(generate(with_motion, motion_scale=-0.3) - generate(with_motion, motion_scale=0.3)).max() > 1e-4


def test_fresh_parts_equal_the_plain_base_in_generation():
    fresh = make_pipe(trained=False)
    tokens = fresh.encode_style(STYLE, "a cat")
    assert tokens.shape == (1, 4 + 2, 24)
    out = generate(fresh, style_guidance_scale=4.0)
    np.testing.assert_allclose(out, generate(fresh, style_guidance_scale=0.0), atol=1e-6)  # n_full == n_text


def test_parts_save_and_load_into_a_fresh_pipeline(pipe, tmp_path):
    expected = generate(pipe, video=VIDEO)
    pipe.save_stylemaster(tmp_path / "sm")
    fresh = StyleMasterPipeline(**build_tiny_components("t2v"))
    fresh.set_progress_bar_config(disable=True)
    clip, tokenizer, processor = build_tiny_clip()
    fresh.load_stylemaster(tmp_path / "sm", clip_model=clip, clip_processor=processor, clip_tokenizer=tokenizer)
    np.testing.assert_array_equal(generate(fresh, video=VIDEO), expected)


def test_bad_calls(pipe):
    with pytest.raises(ValueError, match="style image"):
        pipe("a cat", height=32, width=48, num_frames=9, num_inference_steps=1)
    with pytest.raises(ValueError, match="4k\\+1"):
        generate(pipe, num_frames=8)
    with pytest.raises(ValueError, match="multiples of 16"):
        pipe("a cat", style_image=STYLE, height=40, width=48, num_frames=9, num_inference_steps=1)


def test_control_blocks_run_twice_per_step_not_three_times(pipe):
    calls = []
    hook = pipe.controlnet.blocks[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        generate(pipe, video=VIDEO, control_fraction=1.0)
    finally:
        hook.remove()
    assert len(calls) == 3 * 2  # 3 steps; the text and text+style passes share one control computation


def test_a_shared_control_cache_reproduces_the_output_exactly(pipe):
    from vidstyle.adapters.tile_controlnet import CONTROL_CACHE_KEY, CONTROL_LATENTS_KEY

    g = torch.Generator().manual_seed(0)
    x, text = torch.randn(1, 16, 3, 4, 6, generator=g), torch.randn(1, 512, 32, generator=g)
    control = torch.randn(1, 16, 3, 4, 6, generator=g)
    cache: dict = {}
    calls = []
    hook = pipe.controlnet.blocks[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.no_grad():
            outputs = [pipe.transformer(x, torch.tensor([500.0]), text, return_dict=False,
                                        attention_kwargs={CONTROL_LATENTS_KEY: control, CONTROL_CACHE_KEY: cache})[0]
                       for _ in range(2)]
    finally:
        hook.remove()
    assert torch.equal(outputs[0], outputs[1]) and len(calls) == 1 and len(cache) == len(pipe.controlnet.blocks)
