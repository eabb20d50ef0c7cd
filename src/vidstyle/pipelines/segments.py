"""Pure frame arithmetic for long videos: segment plans, 4k+1 padding, cross-fades, colour anchoring."""

from __future__ import annotations

import numpy as np


def valid_frame_count(frames: int, temporal: int = 4) -> bool:
    """Wan takes ``4k + 1`` frames."""
    return frames >= 1 and frames % temporal == 1


def padded_length(frames: int, temporal: int = 4) -> int:
    """Smallest ``4k + 1`` >= ``frames``."""
    return frames + (1 - frames) % temporal


def pad_frames(frames: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last frame of ``[F, H, W, 3]`` up to ``length`` frames."""
    if length <= len(frames):
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], length - len(frames), axis=0)])


def plan_segments(num_frames: int, segment_frames: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` frame ranges that cover ``[0, num_frames)``.

    Consecutive segments share at least ``overlap`` frames (at least 1, for the first-frame guide);
    every segment is ``segment_frames`` long, except that a video shorter than one segment is a
    single shorter one. The last segment is shifted back to end at the last frame, so it may
    overlap its predecessor by more than ``overlap``.
    """
    if not valid_frame_count(segment_frames):
        raise ValueError(f"segment length must be 4k+1 frames, got {segment_frames}")
    if not 1 <= overlap < segment_frames:
        raise ValueError(f"overlap must be between 1 and segment length - 1, got {overlap}")
    if num_frames <= segment_frames:
        return [(0, num_frames)]
    stride = segment_frames - overlap
    starts = list(range(0, num_frames - segment_frames, stride)) + [num_frames - segment_frames]
    return [(start, start + segment_frames) for start in starts]


def crossfade_weights(length: int) -> np.ndarray:
    """Weights of the *new* segment over an overlap of ``length`` frames: strictly inside (0, 1)."""
    return np.arange(1, length + 1, dtype=np.float32) / (length + 1)


def color_stats(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of uint8 ``[F, H, W, 3]`` frames, float32 ``[3]`` each."""
    pixels = frames.reshape(-1, frames.shape[-1]).astype(np.float32)
    return pixels.mean(axis=0), pixels.std(axis=0) + 1e-3


def anchor_colors(frames: np.ndarray, reference: tuple[np.ndarray, np.ndarray], strength: float) -> np.ndarray:
    """Move the per-channel mean/std of ``frames`` towards ``reference`` (0 = unchanged, 1 = matched).

    Returns uint8 frames of the same shape: the cure for colour drift across chained segments.
    """
    if strength == 0:
        return frames
    mean, std = color_stats(frames)
    ref_mean, ref_std = reference
    x = frames.astype(np.float32)
    matched = (x - mean) / std * ref_std + ref_mean
    return np.clip(np.rint(x + strength * (matched - x)), 0, 255).astype(np.uint8)
