"""DreamStylePipeline end to end on tiny random Wan I2V components."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from vidstyle import DreamStylePipeline
from vidstyle.adapters import TokenLoRAConfig
from vidstyle.backbones import build_tiny_components, load_pipeline
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines import dreamstyle_mode

RNG = np.random.default_rng(0)
VIDEO = RNG.integers(0, 256, (9, 48, 64, 3), dtype=np.uint8)
STYLE_A = Image.fromarray(RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8))
STYLE_B = Image.fromarray(RNG.integers(0, 256, (70, 30, 3), dtype=np.uint8))
FIRST = Image.fromarray(VIDEO[0][::-1].copy())


def run(pipe, seed=0, **kwargs) -> np.ndarray:
    kwargs.setdefault("prompt", "a red ball")
    return pipe(VIDEO, num_inference_steps=2, generator=torch.Generator().manual_seed(seed), **kwargs).frames


@pytest.mark.parametrize(
    ("kwargs", "mode"),
    [
        (dict(prompt="a red ball, watercolor"), "text"),
        (dict(style_images=[STYLE_A]), "style_image"),
        (dict(style_images=[STYLE_A, STYLE_B]), "style_image"),
        (dict(first_frame=FIRST), "first_frame"),
        (dict(style_images=[STYLE_A], style_prompt="in ink"), "fused"),
    ],
    ids=["text", "style_image", "two_style_images", "first_frame", "fused"],
)
def test_every_mode_runs_and_is_seeded(tiny_pipe, kwargs, mode):
    assert dreamstyle_mode(kwargs.get("prompt", "x"), kwargs.get("style_images"), kwargs.get("first_frame"),
                           kwargs.get("style_prompt")) == mode
    out = run(tiny_pipe, **kwargs)
    assert out.shape == (1, 9, 48, 64, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(out, run(tiny_pipe, **kwargs))
    assert np.abs(out - run(tiny_pipe, seed=1, **kwargs)).max() > 1e-3


def test_conditions_change_the_output(tiny_pipe):
    text = run(tiny_pipe, prompt="a red ball, watercolor")
    style_a = run(tiny_pipe, style_images=[STYLE_A])
    style_b = run(tiny_pipe, style_images=[STYLE_B])
    first = run(tiny_pipe, first_frame=FIRST)
    for a, b in [(text, style_a), (style_a, style_b), (style_a, first)]:
        assert np.abs(a - b).max() > 1e-3


def test_transformer_sees_the_dreamstyle_layout(tiny_pipe):
    seen = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(
        lambda m, a, k: seen.append((k["hidden_states"].shape, k["attention_kwargs"]["frame_types"],
                                     k["encoder_hidden_states"].shape, k["encoder_hidden_states_image"].shape)),
        with_kwargs=True)
    try:
        run(tiny_pipe, style_images=[STYLE_A, STYLE_B], guidance_scale=1.0)
        run(tiny_pipe, prompt="ink", guidance_scale=1.0)
    finally:
        hook.remove()
    shape, types, text, image = seen[0]
    assert shape == (1, 36, 3 + 2, 6, 8)  # 3 target latent frames + 2 style frames, 48x64 -> 6x8
    assert types == ["video"] * 3 + ["style"] * 2
    assert text[1] == 512 and image[1] == 2 * 17  # two images' CLIP tokens, concatenated
    assert seen[-1][1] == ["video"] * 3


def test_text_mode_clip_branch_is_zero(tiny_pipe):
    images = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(
        lambda m, a, k: images.append(k["encoder_hidden_states_image"]), with_kwargs=True)
    try:
        run(tiny_pipe, prompt="ink", guidance_scale=1.0)
    finally:
        hook.remove()
    assert not images[0].any()


def test_guidance_runs_a_negative_pass(tiny_pipe):
    calls = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(lambda m, a, k: calls.append(1), with_kwargs=True)
    try:
        run(tiny_pipe, guidance_scale=1.0)
        single = len(calls)
        run(tiny_pipe, guidance_scale=4.0)
    finally:
        hook.remove()
    assert single == 2 and len(calls) - single == 4


def test_output_types(tiny_pipe):
    latents = run(tiny_pipe, output_type="latent")
    assert latents.shape == (1, 16, 3, 6, 8)
    pil = run(tiny_pipe, output_type="pil")
    assert len(pil[0]) == 9 and pil[0][0].size == (64, 48)
    pt = run(tiny_pipe, output_type="pt")
    assert pt.shape == (1, 9, 3, 48, 64)


def test_rejects_bad_frame_counts_and_sizes(tiny_pipe):
    with pytest.raises(ValueError, match="4k\\+1"):
        tiny_pipe(VIDEO[:8], prompt="x", num_inference_steps=1)
    with pytest.raises(ValueError, match="multiples of 16"):
        tiny_pipe(VIDEO, prompt="x", height=40, num_inference_steps=1)
    with pytest.raises(ValueError, match="give a style"):
        tiny_pipe(VIDEO, num_inference_steps=1)


def test_fresh_adapter_pipeline_equals_plain(tiny_pipe):
    plain = run(tiny_pipe, style_images=[STYLE_A])
    adapter = tiny_pipe.add_token_lora(TokenLoRAConfig(rank=4))
    try:
        np.testing.assert_allclose(run(tiny_pipe, style_images=[STYLE_A]), plain, atol=1e-6)
    finally:
        adapter.detach()


def test_loaded_adapter_merged_equals_unmerged(tiny_pipe, tmp_path):
    adapter = tiny_pipe.add_token_lora(TokenLoRAConfig(rank=4))
    with torch.no_grad():
        for p in adapter.parameters():
            p.normal_(std=0.3)
    adapter.save(tmp_path / "ad")
    adapter.detach()
    try:
        tiny_pipe.load_token_lora(tmp_path / "ad", merge=False)
        unmerged = run(tiny_pipe, style_images=[STYLE_A], first_frame=FIRST)
        tiny_pipe.token_lora.merge()
        merged = run(tiny_pipe, style_images=[STYLE_A], first_frame=FIRST)
    finally:
        tiny_pipe.token_lora.detach()
    np.testing.assert_allclose(merged, unmerged, atol=1e-4)
    assert np.abs(merged - run(tiny_pipe, style_images=[STYLE_A], first_frame=FIRST)).max() > 1e-3


def test_loads_a_directory_saved_by_diffusers_wan_i2v(tmp_path, tiny_pipe):
    WanImageToVideoPipeline(**build_tiny_components("i2v", seed=0)).save_pretrained(tmp_path / "base")
    pipe, preset = load_pipeline(DreamStylePipeline, model=tmp_path / "base")
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe, DreamStylePipeline) and preset.kind == "i2v"
    np.testing.assert_allclose(run(pipe, style_images=[STYLE_A]), run(tiny_pipe, style_images=[STYLE_A]),
                               atol=1e-5)


def test_missing_or_invalid_model_directory(tmp_path):
    with pytest.raises(VidstyleInputError, match="not found"):
        load_pipeline(DreamStylePipeline, model=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VidstyleInputError, match="model_index.json"):
        load_pipeline(DreamStylePipeline, model=tmp_path / "empty")


def test_runs_with_the_released_checkpoints_unipc_flow_scheduler():
    from diffusers import UniPCMultistepScheduler

    components = build_tiny_components("i2v")
    components["scheduler"] = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                      flow_shift=3.0)
    pipe = DreamStylePipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    sigmas = []
    original = pipe._sigma
    pipe._sigma = lambda step, t: sigmas.append(original(step, t)) or sigmas[-1]
    out = run(pipe, style_images=[STYLE_A])
    assert out.shape == (1, 9, 48, 64, 3) and np.isfinite(out).all()
    assert sigmas[0] == pytest.approx(1.0, abs=1e-4) and all(a > b for a, b in zip(sigmas, sigmas[1:], strict=False))
