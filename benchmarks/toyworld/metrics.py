"""Reference-free video quality proxies for the toy-world T2V benchmark (uint8 clips ``[F, H, W, 3]``).

- temporal flicker: mean absolute change between consecutive frames, in [0, 1];
- colour-histogram distance: total variation between joint RGB histograms, in [0, 1]. ``BINS`` = 4 levels per
  channel (64 colour cells) groups shades into coarse colour categories (the toy palette has 12 named colours),
  so the blurred edges of a 64x64 model do not dominate it.
"""

from __future__ import annotations

import numpy as np

BINS = 4


def flicker(clip: np.ndarray) -> float:
    """Mean ``|x_{t+1} - x_t| / 255`` over frames, pixels and channels of ``[F, H, W, 3]`` (0 for one frame)."""
    if len(clip) < 2:
        return 0.0
    return float(np.abs(np.diff(clip.astype(np.float32), axis=0)).mean() / 255.0)


def colour_histogram(frames: np.ndarray) -> np.ndarray:
    """Normalised joint RGB histogram ``[BINS^3]`` of the pixels of ``[..., 3]`` uint8 frames."""
    levels = frames.reshape(-1, 3).astype(np.int64) * BINS // 256
    index = (levels[:, 0] * BINS + levels[:, 1]) * BINS + levels[:, 2]
    counts = np.bincount(index, minlength=BINS**3).astype(np.float64)
    return counts / counts.sum()


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance ``0.5 * sum |a - b|`` of two normalised histograms."""
    return float(0.5 * np.abs(a - b).sum())


def per_frame_histogram_distance(clip: np.ndarray, reference: np.ndarray) -> float:
    """Mean over the frames of ``clip`` of the distance of each frame's histogram to ``reference``'s histogram."""
    target = colour_histogram(reference)
    return float(np.mean([histogram_distance(colour_histogram(frame), target) for frame in clip]))
