"""Tests for vidstyle.metrics.motion on small synthetic videos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidstyle.metrics.motion import (
    DISFlow,
    FlowWarpInterpolator,
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


@pytest.fixture(scope="module")
def warp_interp(backend: DISFlow) -> FlowWarpInterpolator:
    return FlowWarpInterpolator(backend)


class _Average:
    """Interpolator predicting the pixel-wise average of its two frames, plus ``offset`` (float32 output)."""

    def __init__(self, offset: float = 0.0, name: str = "average") -> None:
        self.offset, self.name = offset, name

    def interpolate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a.astype(np.float32) + b.astype(np.float32)) / 2 + np.float32(self.offset)


class _Recorder:
    """uint8 interpolator returning frame ``a`` and recording the (a, b) frame values it was called with."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def interpolate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.calls.append((int(a[0, 0, 0]), int(b[0, 0, 0])))
        return a.copy()


def _average_video(kept: int, seed: int = 0, high: int = 100) -> np.ndarray:
    """Video [2 * kept - 1, 8, 12, 3] whose odd frames are exactly the average of their even neighbours."""
    even = 2 * np.random.default_rng(seed).integers(5, high, (kept, 8, 12, 3))  # even values: integer averages
    frames = []
    for j in range(kept):
        frames.append(even[j])
        if j + 1 < kept:
            frames.append((even[j] + even[j + 1]) // 2)
    return np.stack(frames).astype(np.uint8)


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


def test_jitter_lowers_smoothness(warp_interp: FlowWarpInterpolator) -> None:
    smooth = _pan([(2 * t, t) for t in range(FRAMES)])
    rng = np.random.default_rng(3)
    jitter = _pan([(2 * t + int(rng.integers(-5, 6)), t + int(rng.integers(-5, 6))) for t in range(FRAMES)])
    s = motion_smoothness(smooth, warp_interp)["motion_smoothness@dis-proxy-interp"]
    j = motion_smoothness(jitter, warp_interp)["motion_smoothness@dis-proxy-interp"]
    assert 0.0 <= j < s <= 1.0
    assert s > 0.95


def test_smoothness_perfect_interpolator_scores_one() -> None:
    video = _average_video(kept=5)
    assert motion_smoothness(video, _Average()) == {"motion_smoothness@average": 1.0}


def test_smoothness_vbench_formula() -> None:
    video = _average_video(kept=5)  # values in 10..198, so the offsets below stay inside 0..255
    # float outputs are clipped and truncated to uint8 like VBench's tensor2img: +10.7 counts as 10
    assert motion_smoothness(video, _Average(10.7))["motion_smoothness@average"] == pytest.approx((255 - 10) / 255)
    # known per-frame errors 6 and 3 on the first two dropped frames, 0 on the other two: d = 9 / 4
    wrong = video.copy()
    wrong[1] += 6
    wrong[3] -= 3
    score = motion_smoothness(wrong, _Average())["motion_smoothness@average"]
    assert score == pytest.approx((255 - 9 / 4) / 255)
    # an even frame count: the last frame is neither kept nor compared (VBench drops it)
    tail = np.concatenate([video, np.full_like(video[:1], 255)])
    assert motion_smoothness(tail, _Average()) == {"motion_smoothness@average": 1.0}
    # clipping at 255 before comparison: a constant white video predicted as 255 + 40 stays perfect
    white = np.full((5, 4, 4, 3), 255, np.uint8)
    assert motion_smoothness(white, _Average(40.0))["motion_smoothness@average"] == 1.0


def test_smoothness_interpolates_kept_pairs() -> None:
    video = np.stack([np.full((4, 6, 3), 10 * t, np.uint8) for t in range(8)])
    rec = _Recorder()
    score = motion_smoothness(video, rec)["motion_smoothness@recorder"]
    assert rec.calls == [(0, 20), (20, 40), (40, 60)]  # frames (0, 2), (2, 4), (4, 6); frame 7 unused
    assert score == pytest.approx((255 - 10) / 255)  # each dropped frame 2i + 1 differs by 10 from frame 2i


def test_smoothness_bad_interpolator_output() -> None:
    class Bad:
        name = "bad"

        def __init__(self, out: np.ndarray) -> None:
            self.out = out

        def interpolate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return self.out

    video = _average_video(kept=3)
    for out in (np.zeros((8, 12), np.float32), np.zeros((8, 12, 3), np.int64), np.full((8, 12, 3), np.nan, np.float32)):
        with pytest.raises(ValueError):
            motion_smoothness(video, Bad(out))


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


def test_keys_carry_backend_label(backend: DISFlow, warp_interp: FlowWarpInterpolator) -> None:
    video = _square_video(2)
    keys = set(dynamic_degree(video, 8, backend)) | set(motion_smoothness(video, warp_interp))
    assert "dynamic_degree@dis-proxy" in keys and "motion_smoothness@dis-proxy-interp" in keys
    assert list(motion_smoothness(video, _Average(name="my-interp"))) == ["motion_smoothness@my-interp"]


@pytest.mark.parametrize(
    "video",
    [
        np.zeros((FRAMES, SIZE, SIZE, 3), np.float32),  # wrong dtype
        np.zeros((FRAMES, SIZE, SIZE), np.uint8),  # no channels
        np.zeros((FRAMES, SIZE, SIZE, 4), np.uint8),  # wrong channels
        np.zeros((1, SIZE, SIZE, 3), np.uint8),  # one frame
    ],
)
def test_bad_video_raises(video: np.ndarray, backend: DISFlow, warp_interp: FlowWarpInterpolator) -> None:
    with pytest.raises(ValueError):
        dynamic_degree(video, 8, backend)
    with pytest.raises(ValueError):
        motion_smoothness(video, warp_interp)
    with pytest.raises(ValueError):
        temporal_flickering(video)


def test_bad_inputs_raise(backend: DISFlow, warp_interp: FlowWarpInterpolator) -> None:
    with pytest.raises(ValueError):
        motion_smoothness(np.zeros((2, SIZE, SIZE, 3), np.uint8), warp_interp)
    with pytest.raises(ValueError):
        warp_interp.interpolate(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((SIZE, SIZE + 1, 3), np.uint8))
    with pytest.raises(ValueError):
        backend.flow(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(ValueError):
        subject_consistency(np.ones((1, 8)), encoder="dino-vitb16")
    with pytest.raises(ValueError):
        subject_consistency(np.ones(8), encoder="dino-vitb16")
    with pytest.raises(ValueError):
        subject_consistency(np.zeros((3, 8)), encoder="dino-vitb16")
