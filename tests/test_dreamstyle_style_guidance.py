"""DreamStyle's optional style guidance: a style-free pass combined with StyleMaster's three-pass formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

RNG = np.random.default_rng(3)
VIDEO = RNG.integers(0, 256, (9, 48, 64, 3), dtype=np.uint8)
STYLE = Image.fromarray(RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8))
FIRST = Image.fromarray(VIDEO[0][::-1].copy())


def run(pipe, **kwargs) -> np.ndarray:
    kwargs.setdefault("prompt", "a red ball")
    return pipe(VIDEO, num_inference_steps=3, generator=torch.Generator().manual_seed(0), **kwargs).frames


def test_scale_one_is_the_styled_pass_and_scale_zero_the_style_free_one(tiny_pipe):
    """Without text guidance the formula is ``n_text + s (n_full - n_text)``: s = 1 reproduces the plain
    style-image call, s = 0 the call without style images (text mode), bit for bit up to float rounding."""
    styled = run(tiny_pipe, style_images=[STYLE], guidance_scale=1.0)
    np.testing.assert_allclose(run(tiny_pipe, style_images=[STYLE], guidance_scale=1.0, style_guidance_scale=1.0),
                               styled, atol=1e-5)
    free = run(tiny_pipe, guidance_scale=1.0)
    np.testing.assert_allclose(run(tiny_pipe, style_images=[STYLE], guidance_scale=1.0, style_guidance_scale=0.0),
                               free, atol=1e-5)
    assert np.abs(styled - free).max() > 1e-3  # the two ends differ, so the checks above can fail
    pushed = run(tiny_pipe, style_images=[STYLE], guidance_scale=1.0, style_guidance_scale=3.0)
    assert np.abs(pushed - styled).max() > 1e-3


def test_style_free_pass_drops_only_the_style_images(tiny_pipe):
    seen = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(
        lambda m, a, k: seen.append((k["attention_kwargs"]["frame_types"], k["encoder_hidden_states_image"],
                                     k["hidden_states"][:, :16, 0].clone())), with_kwargs=True)
    try:
        run(tiny_pipe, style_images=[STYLE], first_frame=FIRST, guidance_scale=4.0, style_guidance_scale=2.0)
    finally:
        hook.remove()
    assert len(seen) == 3 * 3  # styled, style-free prompt, style-free negative per step
    (styled_types, styled_image, styled_first), (free_types, free_image, free_first) = seen[0], seen[1]
    assert styled_types == ["first_frame"] + ["video"] * 3 + ["style"]
    assert free_types == ["first_frame"] + ["video"] * 3 == seen[2][0]
    assert styled_image.shape[1] == 2 * free_image.shape[1]  # first frame + style image vs first frame only
    torch.testing.assert_close(free_image, styled_image[:, : free_image.shape[1]])
    torch.testing.assert_close(free_first, styled_first)  # the same noised first frame in both


def test_style_guidance_needs_style_images(tiny_pipe):
    with pytest.raises(ValueError, match="style_guidance_scale needs style images"):
        run(tiny_pipe, style_guidance_scale=2.0)
