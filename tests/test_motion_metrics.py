"""Tests for vidstyle.metrics.motion on small synthetic videos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidstyle.metrics.motion import (
    DISFlow,
    dynamic_degree,
    frame_interval,
    motion_smoothness,
    subject_consistency,
    temporal_flickering,
)

SIZE, FRAMES = 64, 17


def _texture(size: int, seed: int = 0) -> np.ndarray:
    """Smooth random RGB texture uint8 [size, size, 3]."""
    noise = np.random.default_rng(seed).uniform(0, 255, (size, size, 3)).astype(np.float32)
    tex = cv2.GaussianBlur(noise, (0, 0), 1.5)
    tex = (tex - tex.min()) / (tex.max() - tex.min()) * 255
    return tex.astype(np.uint8)


def _pan(offsets: list[tuple[int, int]], seed: int = 0) -> np.ndarray:
    """Video [F, SIZE, SIZE, 3] of SIZE x SIZE crops of a larger texture at (x, y) offsets."""
    big = _texture(SIZE + 256, seed)
    return np.stack([big[128 + y : 128 + y + SIZE, 128 + x : 128 + x + SIZE] for x, y in offsets])


def _square_video(step: int) -> np.ndarray:
    """Textured 20 px square moving ``step`` px/frame right over a static textured background [F, 64, 64, 3]."""
    bg, fg = _texture(SIZE, 1), _texture(20, 2)
    frames = []
    for t in range(FRAMES):
        f = bg.copy()
        x = 4 + (t * step) % (SIZE - 28)
        f[22:42, x : x + 20] = fg
        frames.append(f)
    return np.stack(frames)


@pytest.fixture(scope="module")
def backend() -> DISFlow:
    return DISFlow()


def test_frame_interval() -> None:
    assert frame_interval(8) == 1
    assert frame_interval(24) == 3
    assert frame_interval(2) == 1
    with pytest.raises(ValueError):
        frame_interval(0)


def test_static_video_not_dynamic(backend: DISFlow) -> None:
    video = np.repeat(_texture(SIZE)[None], FRAMES, axis=0)
    out = dynamic_degree(video, fps=8, backend=backend)
    assert out == {"dynamic_degree@dis-proxy": 0.0, "moving_pairs": 0, "pairs": FRAMES - 1}


def test_large_translation_is_dynamic(backend: DISFlow) -> None:
    out = dynamic_degree(_pan([(6 * t, 0) for t in range(FRAMES)]), fps=8, backend=backend)
    assert out["dynamic_degree@dis-proxy"] == 1.0
    assert out["moving_pairs"] >= 4
    square = dynamic_degree(_square_video(6), fps=8, backend=backend)
    assert square["dynamic_degree@dis-proxy"] == 1.0


def test_dynamic_degree_interval(backend: DISFlow) -> None:
    out = dynamic_degree(_pan([(2 * t, 0) for t in range(FRAMES)]), fps=24, backend=backend)
    assert out["pairs"] == 5  # pairs (0, 3), (3, 6), ..., (12, 15)


def test_dis_flow_measures_translation(backend: DISFlow) -> None:
    video = _pan([(0, 0), (3, 2)])
    flow = backend.flow(video[0], video[1])
    assert flow.shape == (SIZE, SIZE, 2) and flow.dtype == np.float32
    inner = flow[8:-8, 8:-8].reshape(-1, 2)
    # content moves by -offset in the frame when the crop window moves by +offset
    err = np.linalg.norm(inner - np.array([-3.0, -2.0]), axis=1).mean()
    assert err < 1.0


def test_jitter_lowers_smoothness(backend: DISFlow) -> None:
    smooth = _pan([(2 * t, t) for t in range(FRAMES)])
    rng = np.random.default_rng(3)
    jitter = _pan([(2 * t + int(rng.integers(-5, 6)), t + int(rng.integers(-5, 6))) for t in range(FRAMES)])
    s = motion_smoothness(smooth, backend)["motion_smoothness@dis-proxy-interp"]
    j = motion_smoothness(jitter, backend)["motion_smoothness@dis-proxy-interp"]
    assert 0.0 <= j < s <= 1.0
    assert s > 0.95


def test_flickering() -> None:
    static = np.repeat(_texture(SIZE)[None], FRAMES, axis=0)
    assert temporal_flickering(static) == {"temporal_flickering": 1.0}
    flicker = static.astype(np.int16)
    flicker[1::2] = np.clip(flicker[1::2] + 40, 0, 255)
    score = temporal_flickering(flicker.astype(np.uint8))["temporal_flickering"]
    assert 0.0 < score < 0.95


def test_subject_consistency() -> None:
    same = np.tile(np.random.default_rng(0).normal(size=(1, 32)), (FRAMES, 1))
    assert subject_consistency(same, encoder="dino-vitb16") == pytest.approx({"subject_consistency@dino-vitb16": 1.0})
    rand = np.random.default_rng(1).normal(size=(FRAMES, 32))
    assert subject_consistency(rand, encoder="dino-vitb16")["subject_consistency@dino-vitb16"] < 0.5


def test_keys_carry_backend_label(backend: DISFlow) -> None:
    video = _square_video(2)
    keys = set(dynamic_degree(video, 8, backend)) | set(motion_smoothness(video, backend))
    assert "dynamic_degree@dis-proxy" in keys and "motion_smoothness@dis-proxy-interp" in keys


@pytest.mark.parametrize(
    "video",
    [
        np.zeros((FRAMES, SIZE, SIZE, 3), np.float32),  # wrong dtype
        np.zeros((FRAMES, SIZE, SIZE), np.uint8),  # no channels
        np.zeros((FRAMES, SIZE, SIZE, 4), np.uint8),  # wrong channels
        np.zeros((1, SIZE, SIZE, 3), np.uint8),  # one frame
    ],
)
def test_bad_video_raises(video: np.ndarray, backend: DISFlow) -> None:
    with pytest.raises(ValueError):
        dynamic_degree(video, 8, backend)
    with pytest.raises(ValueError):
        motion_smoothness(video, backend)
    with pytest.raises(ValueError):
        temporal_flickering(video)


def test_bad_inputs_raise(backend: DISFlow) -> None:
    with pytest.raises(ValueError):
        motion_smoothness(np.zeros((2, SIZE, SIZE, 3), np.uint8), backend)
    with pytest.raises(ValueError):
        backend.flow(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(ValueError):
        subject_consistency(np.ones((1, 8)), encoder="dino-vitb16")
    with pytest.raises(ValueError):
        subject_consistency(np.ones(8), encoder="dino-vitb16")
    with pytest.raises(ValueError):
        subject_consistency(np.zeros((3, 8)), encoder="dino-vitb16")
