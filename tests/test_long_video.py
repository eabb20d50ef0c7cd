"""Long videos: segment plans, cross-fades, colour anchoring, and kill-and-resume equality."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.long_video import StyleJob, stylize_frames
from vidstyle.pipelines.segments import (
    anchor_colors,
    color_stats,
    crossfade_weights,
    pad_frames,
    padded_length,
    plan_segments,
)

FRAMES = np.random.default_rng(1).integers(0, 256, (23, 32, 48, 3), dtype=np.uint8)
STYLE = Image.fromarray(np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8))


def job(**overrides) -> StyleJob:
    base = dict(prompt="a ball", style_images=[STYLE], height=32, width=48, steps=2, segment_frames=9, overlap=2)
    return StyleJob(**{**base, **overrides})


@pytest.mark.parametrize(("frames", "length", "overlap"), [(23, 9, 2), (81, 17, 4), (100, 81, 1), (9, 9, 3),
                                                            (5, 17, 4), (30, 13, 12)])
def test_plan_covers_every_frame_with_overlaps(frames, length, overlap):
    plan = plan_segments(frames, length, overlap)
    assert plan[0][0] == 0 and plan[-1][1] == frames
    for (start, stop), (next_start, _) in zip(plan, plan[1:], strict=False):
        assert stop - start == length
        assert stop - next_start >= overlap  # shared frames, the first-frame guide among them
        assert next_start > start


@pytest.mark.parametrize(("length", "overlap"), [(10, 2), (9, 0), (9, 9)])
def test_plan_rejects_bad_settings(length, overlap):
    with pytest.raises(ValueError):
        plan_segments(40, length, overlap)


def test_padding_to_4k_plus_1():
    assert [padded_length(n) for n in (1, 2, 5, 6, 8, 9)] == [1, 5, 5, 9, 9, 9]
    padded = pad_frames(FRAMES[:6], 9)
    assert len(padded) == 9 and np.array_equal(padded[6:], np.repeat(FRAMES[5:6], 3, axis=0))


def test_crossfade_weights_are_monotone_and_open():
    w = crossfade_weights(4)
    assert np.all(np.diff(w) > 0) and 0 < w[0] and w[-1] < 1


def test_color_anchor_matches_reference_statistics():
    reference = color_stats(FRAMES)
    drifted = np.clip(FRAMES.astype(int) * 0.6 + 60, 0, 255).astype(np.uint8)
    anchored = anchor_colors(drifted, reference, 1.0)
    mean, std = color_stats(anchored)
    np.testing.assert_allclose(mean, reference[0], atol=1.5)
    np.testing.assert_allclose(std, reference[1], rtol=0.03)
    assert anchor_colors(drifted, reference, 0.0) is drifted


def test_short_video_needs_no_work_dir(tiny_pipe):
    out = stylize_frames(tiny_pipe, FRAMES[:6], job())
    assert out.shape == (6, 32, 48, 3) and out.dtype == np.uint8


def test_chained_segments_are_first_frame_guided_and_keep_the_style(tiny_pipe, tmp_path):
    calls = []
    original = type(tiny_pipe).__call__

    def spy(self, video, **kwargs):
        calls.append(kwargs)
        return original(self, video, **kwargs)

    type(tiny_pipe).__call__ = spy
    try:
        stylize_frames(tiny_pipe, FRAMES, job(style_guidance=2.0), work_dir=tmp_path / "work")
    finally:
        type(tiny_pipe).__call__ = original
    assert len(calls) == 3
    assert calls[0]["first_frame"] is None
    assert all(c["first_frame"] is not None and c["style_images"] == [STYLE] for c in calls[1:])
    assert [c["style_guidance_scale"] for c in calls] == [2.0] * 3  # every segment guided toward the images
    assert not (tmp_path / "work").exists()  # removed on success


def test_killed_then_resumed_equals_uninterrupted(tiny_pipe, tmp_path):
    uninterrupted = stylize_frames(tiny_pipe, FRAMES, job(), work_dir=tmp_path / "a")

    class Killed(Exception):
        pass

    def kill_after_second(index, total):
        if index == 1:
            raise Killed

    with pytest.raises(Killed):
        stylize_frames(tiny_pipe, FRAMES, job(), work_dir=tmp_path / "b", on_segment=kill_after_second)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "manifest.json", "segment_0000.safetensors", "segment_0001.safetensors"]

    resumed_segments = []
    original = type(tiny_pipe).__call__
    type(tiny_pipe).__call__ = lambda self, video, **kw: resumed_segments.append(1) or original(self, video, **kw)
    try:
        resumed = stylize_frames(tiny_pipe, FRAMES, job(), work_dir=tmp_path / "b", resume=True)
    finally:
        type(tiny_pipe).__call__ = original
    assert len(resumed_segments) == 1  # only the unfinished segment ran again
    np.testing.assert_array_equal(resumed, uninterrupted)


def test_resume_refuses_a_different_job(tiny_pipe, tmp_path):
    def stop(index, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_frames(tiny_pipe, FRAMES, job(), work_dir=tmp_path / "w", on_segment=stop)
    with pytest.raises(VidstyleInputError, match="different job"):
        stylize_frames(tiny_pipe, FRAMES, job(seed=5), work_dir=tmp_path / "w", resume=True)


class DriftingPipe:
    """A stand-in pipeline: returns its input with a colour cast that grows with every call (segment)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, video, **kwargs):
        cast = np.array([25.0, -15.0, 10.0]) * self.calls
        self.calls += 1
        return SimpleNamespace(frames=[np.clip((video.astype(np.float32) + cast) / 255, 0, 1)])


def test_colour_anchoring_removes_drift_between_segments(tmp_path):
    smooth = np.repeat(FRAMES[:1] // 2 + 60, 23, axis=0)  # a static scene: any change is drift
    anchored = stylize_frames(DriftingPipe(), smooth, job(), work_dir=tmp_path / "a")
    free = stylize_frames(DriftingPipe(), smooth, job(color_anchor=0.0), work_dir=tmp_path / "b")

    def drift(frames):
        return np.abs(color_stats(frames[-5:])[0] - color_stats(frames[:5])[0]).max()

    assert drift(free) > 30
    assert drift(anchored) < 1.0
