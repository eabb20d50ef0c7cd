"""Generating from toy-world base pipelines and scoring the results against the raw eval clips."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from benchmarks.toyworld.metrics import colour_histogram, flicker, histogram_distance, per_frame_histogram_distance
from vidstyle.metrics.fidelity import psnr, ssim
from vidstyle.training.vae_trainer import Clips


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """float ``[F, H, W, 3]`` in [0, 1] (a pipeline's ``output_type="np"``) -> uint8."""
    return (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)


@torch.no_grad()
def generate(pipe, clips: Clips, steps: int, guidance: float, seed: int = 0) -> np.ndarray:
    """One clip per eval clip, uint8 ``[N, F, H, W, 3]``: from its caption, and its first frame for I2V pipelines
    (anything with an ``image_encoder``); clip ``i`` draws its noise from ``seed + i``."""
    count, frames, height, width = clips.frames.shape[:4]
    pipe.set_progress_bar_config(disable=True)
    out = []
    for i in range(count):
        kwargs = dict(prompt=clips.captions[i], height=height, width=width, num_frames=frames,
                      num_inference_steps=steps, guidance_scale=guidance, output_type="np",
                      generator=torch.Generator().manual_seed(seed + i))
        if getattr(pipe, "image_encoder", None) is not None:
            kwargs["image"] = Image.fromarray(clips.frames[i, 0].numpy())
        out.append(to_uint8(pipe(**kwargs).frames[0]))
    return np.stack(out)


def fidelity(videos: np.ndarray, clips: Clips) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM over clips of ``videos`` ``[N, F, H, W, 3]`` against the raw eval clips."""
    real = clips.frames.numpy()
    return {"psnr": float(np.mean([psnr(v, r) for v, r in zip(videos, real, strict=True)])),
            "ssim": float(np.mean([ssim(v, r) for v, r in zip(videos, real, strict=True)]))}


def quality_proxies(videos: np.ndarray, clips: Clips) -> dict[str, float]:
    """T2V proxies: mean flicker, mean per-frame colour-histogram distance to the caption's own eval clip
    (``hist_paired``) and distance between the pooled histograms of all videos and all eval clips (``hist_set``)."""
    real = clips.frames.numpy()
    return {"flicker": float(np.mean([flicker(v) for v in videos])),
            "hist_paired": float(np.mean([per_frame_histogram_distance(v, r) for v, r in zip(videos, real,
                                                                                              strict=True)])),
            "hist_set": histogram_distance(colour_histogram(videos), colour_histogram(real))}


def contact_sheet(rows: list[np.ndarray], frames: tuple[int, ...] = (0, 4, 8)) -> Image.Image:
    """A grid image: one row per ``[F, H, W, 3]`` clip, the chosen frames side by side."""
    picked = [np.concatenate([clip[min(f, len(clip) - 1)] for f in frames], axis=1) for clip in rows]
    return Image.fromarray(np.concatenate(picked, axis=0))
