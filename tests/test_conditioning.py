"""DreamStyle input layout: token types, mask channels, condition channels, noised condition frames."""

from __future__ import annotations

import pytest
import torch

from vidstyle.conditioning import DreamStyleCondition

C, H, W = 16, 4, 6


def latents(frames: int, value: float) -> torch.Tensor:
    return torch.full((1, C, frames, H, W), value)


@pytest.mark.parametrize(
    ("first", "style", "types"),
    [
        (None, None, ["video"] * 3),
        (latents(1, 2.0), None, ["first_frame"] + ["video"] * 3),
        (None, latents(2, 3.0), ["video"] * 3 + ["style"] * 2),
        (latents(1, 2.0), latents(1, 3.0), ["first_frame"] + ["video"] * 3 + ["style"]),
    ],
    ids=["text", "first_frame", "two_style_images", "first_frame_and_style"],
)
def test_layout(first, style, types):
    cond = DreamStyleCondition(video=latents(3, 1.0), first_frame=first, style=style)
    assert cond.frame_types == types
    channels = cond.condition_channels()
    assert channels.shape == (1, 4 + C, len(types), H, W)
    for index, kind in enumerate(types):
        mask = channels[:, :4, index]
        assert torch.all(mask == (0.0 if kind == "video" else 1.0)), (index, kind)
        expected = {"video": 1.0, "first_frame": 2.0, "style": 3.0}[kind]
        assert torch.all(channels[:, 4:, index] == expected), (index, kind)
    sl = cond.target_frames
    assert types[sl] == ["video"] * 3


def test_model_input_noises_condition_frames_and_keeps_targets():
    cond = DreamStyleCondition(video=latents(3, 1.0), first_frame=latents(1, 2.0), style=latents(1, 3.0))
    noisy_targets = torch.randn(1, C, 3, H, W)
    eps = torch.randn(1, C, 2, H, W)
    x = cond.model_input(noisy_targets, 0.25, eps, cond.condition_channels())
    assert x.shape == (1, 36, 5, H, W)
    torch.testing.assert_close(x[:, :C, 1:4], noisy_targets)
    torch.testing.assert_close(x[:, :C, 0], 0.75 * 2.0 + 0.25 * eps[:, :, 0])
    torch.testing.assert_close(x[:, :C, 4], 0.75 * 3.0 + 0.25 * eps[:, :, 1])
    clean = cond.model_input(noisy_targets, 0.0, eps, cond.condition_channels())
    assert torch.all(clean[:, :C, 0] == 2.0) and torch.all(clean[:, :C, 4] == 3.0)
