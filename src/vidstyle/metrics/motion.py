"""VBench-style motion metrics on uint8 videos ``[F, H, W, 3]``.

Every returned key carries the flow backend, interpolator or encoder it was computed with, e.g.
``"dynamic_degree@dis-proxy"`` or ``"motion_smoothness@amt-s"``: OpenCV DIS flow is a cheap proxy for VBench's RAFT
(and ``"dis-proxy-interp"`` a flow-warping proxy for its AMT-S), so such numbers are not comparable with figures
published in papers.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

__all__ = [
    "DISFlow",
    "FlowBackend",
    "FlowWarpInterpolator",
    "Interpolator",
    "dynamic_degree",
    "frame_interval",
    "motion_smoothness",
    "subject_consistency",
    "temporal_flickering",
]


class FlowBackend(Protocol):
    """Dense optical flow between two frames."""

    name: str

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (uint8 ``[H, W, 3]`` each) as float32 ``[H, W, 2]`` ``(dx, dy)``."""
        ...


class DISFlow:
    """OpenCV DIS optical flow (medium preset) on grayscale frames; a proxy for RAFT."""

    name = "dis-proxy"

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (uint8 ``[H, W, 3]``) as float32 ``[H, W, 2]``: ``a(p) ~ b(p + flow(p))``."""
        _check_frame(a)
        _check_frame(b)
        if a.shape != b.shape:
            raise ValueError(f"frame shapes differ: {a.shape} vs {b.shape}")
        ga = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
        gb = cv2.cvtColor(np.ascontiguousarray(b), cv2.COLOR_RGB2GRAY)
        return self._dis.calc(ga, gb, None).astype(np.float32)


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(
            f"expected a uint8 frame [H, W, 3], got {getattr(frame, 'dtype', type(frame))} "
            f"{getattr(frame, 'shape', '')}"
        )


def _check_video(video: np.ndarray, min_frames: int = 2) -> None:
    if not isinstance(video, np.ndarray) or video.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy video, got {getattr(video, 'dtype', type(video))}")
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"expected video shape [F, H, W, 3], got {video.shape}")
    if video.shape[0] < min_frames:
        raise ValueError(f"need at least {min_frames} frames, got {video.shape[0]}")


def frame_interval(fps: float) -> int:
    """Frame step that samples the video at about 8 fps, as VBench does: ``max(1, round(fps / 8))``."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return max(1, round(fps / 8))


def dynamic_degree(video: np.ndarray, fps: float, backend: FlowBackend) -> dict:
    """VBench dynamic degree of a uint8 video ``[F, H, W, 3]``.

    Frames are sampled every ``frame_interval(fps)`` frames; for each consecutive sampled pair ``(i, i + interval)``
    the score is the mean of the top 5% flow magnitudes, and the pair moves when it exceeds ``6 * min(H, W) / 256``.
    VBench requires 4 moving pairs for its 16-pair clips; we scale that to ``max(1, round(4 * n_pairs / 16))``.
    Returns ``{"dynamic_degree@<backend>": 0.0 | 1.0, "moving_pairs": int, "pairs": int}``.
    """
    _check_video(video)
    step = frame_interval(fps)
    starts = range(0, video.shape[0] - step, step)
    if len(starts) == 0:
        raise ValueError(f"video of {video.shape[0]} frames too short for frame interval {step}")
    threshold = 6.0 * min(video.shape[1:3]) / 256.0
    moving = 0
    for i in starts:
        mag = np.linalg.norm(backend.flow(video[i], video[i + step]), axis=-1).ravel()
        k = max(1, int(round(0.05 * mag.size)))
        moving += int(np.partition(mag, mag.size - k)[-k:].mean() > threshold)
    needed = max(1, round(4 * len(starts) / 16))
    return {f"dynamic_degree@{backend.name}": float(moving >= needed), "moving_pairs": moving, "pairs": len(starts)}


class Interpolator(Protocol):
    """Video frame interpolation at half-way time."""

    name: str

    def interpolate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Frame half-way between uint8 ``a`` and ``b`` ``[H, W, 3]`` as uint8 or float32 ``[H, W, 3]`` (0..255)."""
        ...


def _interpolate_mid(a: np.ndarray, b: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Half-way frame float32 ``[H, W, 3]`` between ``a`` and ``b`` (uint8 ``[H, W, 3]``) given flow ``a -> b``."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dx, dy = 0.5 * flow[..., 0], 0.5 * flow[..., 1]
    opts = {"interpolation": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REPLICATE}
    fwd = cv2.remap(a.astype(np.float32), gx - dx, gy - dy, **opts)  # a pushed forward half-way
    bwd = cv2.remap(b.astype(np.float32), gx + dx, gy + dy, **opts)  # b pulled back half-way
    return 0.5 * (fwd + bwd)


class FlowWarpInterpolator:
    """Flow-warping proxy for a learned interpolator: warp both frames half-way along the flow ``a -> b`` and average.

    Named ``"<backend>-interp"`` (e.g. ``"dis-proxy-interp"``); returns float32 ``[H, W, 3]``.
    """

    def __init__(self, backend: FlowBackend) -> None:
        self.backend = backend
        self.name = f"{backend.name}-interp"

    def interpolate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Frame half-way between uint8 ``a`` and ``b`` ``[H, W, 3]`` as float32 ``[H, W, 3]``."""
        _check_frame(a)
        _check_frame(b)
        if a.shape != b.shape:
            raise ValueError(f"frame shapes differ: {a.shape} vs {b.shape}")
        return _interpolate_mid(a, b, self.backend.flow(a, b))


def _as_uint8_frame(pred: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """An interpolator's output as uint8 ``shape``; floats are clipped to 0..255 and truncated as VBench does."""
    if not isinstance(pred, np.ndarray) or pred.shape != shape:
        raise ValueError(f"interpolator {name!r} returned {getattr(pred, 'shape', type(pred))}, expected {shape}")
    if pred.dtype == np.uint8:
        return pred
    if not np.issubdtype(pred.dtype, np.floating):
        raise ValueError(f"interpolator {name!r} returned dtype {pred.dtype}, expected uint8 or float32")
    if not np.all(np.isfinite(pred)):
        raise ValueError(f"interpolator {name!r} returned non-finite values")
    return pred.clip(0, 255).astype(np.uint8)


def motion_smoothness(video: np.ndarray, interpolator: Interpolator) -> dict:
    """VBench motion smoothness of a uint8 video ``[F, H, W, 3]`` (at least 3 frames) under ``interpolator``.

    As VBench ``vbench/motion_smoothness.py`` (``MotionSmoothness.motion_score``) computes it: keep the even frames
    ``0, 2, 4, ...``; interpolate half-way between each consecutive pair of kept frames ``(2i, 2i + 2)``; compare the
    ``i``-th interpolated frame with the dropped frame ``2i + 1``. Interpolated frames are uint8 (float outputs are
    clipped to 0..255 and truncated, like VBench's ``tensor2img``); per frame the error is ``mean(absdiff)`` over
    ``H x W x 3`` in uint8, the video error ``d`` is the mean over frames, and the score is ``(255 - d) / 255``
    (1 = every dropped frame predicted exactly). With an even frame count the last frame is neither kept nor
    compared, as in VBench. Returns ``{"motion_smoothness@<interpolator.name>": score}``.

    Differences from VBench: frames come in as a decoded RGB array (VBench decodes the file with OpenCV itself), and
    the interpolator decides its own resolution handling (VBench's AMT may downscale on GPUs with little memory; ours
    never does, see ``vidstyle.metrics.amt``).
    """
    _check_video(video, min_frames=3)
    kept, dropped = video[0::2], video[1::2]
    errors = []
    for i in range(len(kept) - 1):
        pred = _as_uint8_frame(interpolator.interpolate(kept[i], kept[i + 1]), video.shape[1:], interpolator.name)
        errors.append(np.mean(cv2.absdiff(np.ascontiguousarray(pred), np.ascontiguousarray(dropped[i]))))
    return {f"motion_smoothness@{interpolator.name}": float((255.0 - np.mean(errors)) / 255.0)}


def temporal_flickering(video: np.ndarray) -> dict:
    """VBench temporal flickering of a uint8 video ``[F, H, W, 3]``: ``(255 - mean|x_t - x_{t-1}|) / 255``."""
    _check_video(video)
    v = video.astype(np.int16)
    return {"temporal_flickering": float((255.0 - np.abs(np.diff(v, axis=0)).mean()) / 255.0)}


def subject_consistency(features: np.ndarray, encoder: str) -> dict:
    """Subject consistency of per-frame features ``[F, D]`` from encoder ``encoder`` (DINO in VBench).

    Mean over frames ``t > 0`` of ``(cos(f_t, f_0) + cos(f_t, f_{t-1})) / 2``; key ``"subject_consistency@<encoder>"``.
    """
    f = np.asarray(features)
    if f.ndim != 2 or f.shape[0] < 2 or f.shape[1] < 1 or not np.issubdtype(f.dtype, np.number):
        raise ValueError(f"expected numeric features [F >= 2, D], got {f.dtype} {f.shape}")
    if not encoder:
        raise ValueError("encoder name is required")
    f = f.astype(np.float64)
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    if not np.all(np.isfinite(f)) or np.any(norms == 0):
        raise ValueError("features must be finite and non-zero")
    f = f / norms
    to_first = f[1:] @ f[0]
    to_prev = np.sum(f[1:] * f[:-1], axis=1)
    return {f"subject_consistency@{encoder}": float(np.mean((to_first + to_prev) / 2))}
