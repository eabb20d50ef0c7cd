"""Per-video and dataset-level scores of an evaluation, as plain dicts ready for JSON.

Per video: style (CSD to the references), text (CLIP-T to ``t_ns`` and ``t_sty``), structure against the raw
input (DINO key self-similarity distance and CLS cosine, LPIPS), fidelity to the ground truth (PSNR, SSIM) and
the VBench motion protocols. Dataset: FID of the outputs against the style references and against the ground
truth, and ArtFID. Each key names its encoder or backend after ``@``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vidstyle.evaluation.encoders import Encoders
from vidstyle.evaluation.items import EvalItem
from vidstyle.metrics import fidelity, motion, semantic
from vidstyle.metrics.distribution import art_fid, fid_from_features

BATCH = 8

DEFINITIONS: dict[str, str] = {
    "csd": "CSD style similarity of output frames to the style references, mean cosine (higher = closer style)",
    "clip_t_content": "CLIP-T, 100 x mean cosine of output frames with the content caption t_ns (higher)",
    "clip_t_styled": "CLIP-T, 100 x mean cosine of output frames with the styled caption t_sty (higher)",
    "dino_struct_dist": "DINO ViT last-layer key self-similarity distance to the raw input (lower = structure kept)",
    "dino_cls_cos": "DINO ViT CLS cosine to the raw input (higher = more content kept)",
    "lpips_content": "LPIPS (AlexNet, v0.1) to the raw input, mean over frames (lower = more content kept)",
    "psnr_gt": "PSNR to the ground-truth stylized video in dB (higher; 100 = identical)",
    "ssim_gt": "SSIM to the ground-truth stylized video (higher; 1 = identical)",
    "temporal_flickering": "VBench temporal flickering, (255 - mean |x_t - x_t-1|) / 255 (higher = steadier)",
    "dynamic_degree": "VBench dynamic degree, 1 if enough frame pairs move (flow top-5% magnitude > threshold)",
    "motion_smoothness": "VBench motion smoothness, odd frames vs. frames interpolated from even ones (higher)",
    "subject_consistency": "VBench subject consistency, DINO CLS cosine to the first and previous frame (higher)",
    "fid_style": "FID of output frames against the style references (lower)",
    "fid_gt": "FID of output frames against ground-truth stylized frames (lower)",
    "art_fid": "ArtFID = (1 + mean lpips_content) x (1 + fid_style) (lower)",
}


def model_label(source: str) -> str:
    """A short encoder label from a hub id or directory: ``openai/clip-vit-large-patch14`` -> the last part."""
    return Path(source.rstrip("/")).name or source


def _lpips(model, a: np.ndarray, b: np.ndarray) -> list[float]:
    """Per-frame LPIPS of uint8 [F, H, W, 3] videos."""
    device = next(model.parameters()).device
    values: list[float] = []
    with torch.no_grad():
        for start in range(0, len(a), BATCH):
            x, y = (torch.from_numpy(v[start:start + BATCH]).to(device).permute(0, 3, 1, 2).float() / 255
                    for v in (a, b))
            values += model(x, y).tolist()
    return values


def score_video(item: EvalItem, enc: Encoders) -> tuple[dict[str, float], dict[str, list[float]], dict[str, str]]:
    """``(metrics, per-frame series, skipped metric -> reason)`` for one prediction."""
    metrics: dict[str, float] = {}
    series: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    frames = len(item.pred)
    metrics.update(motion.temporal_flickering(item.pred) if frames >= 2 else {})
    if frames >= 2:
        series["frame_change"] = np.abs(np.diff(item.pred.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)).tolist()
        series["raw_frame_change"] = np.abs(np.diff(item.raw.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)).tolist()
    step = motion.frame_interval(float(item.fps))
    if frames > step:
        for backend in enc.flows:
            result = motion.dynamic_degree(item.pred, float(item.fps), backend)
            metrics[f"dynamic_degree@{backend.name}"] = result[f"dynamic_degree@{backend.name}"]
    else:
        skipped["dynamic_degree"] = f"{frames} frame(s): needs more than the frame interval {step}"
    if frames >= 3:
        for interpolator in enc.interpolators:
            metrics.update(motion.motion_smoothness(item.pred, interpolator))
    else:
        skipped["motion_smoothness"] = f"{frames} frame(s): needs at least 3"
    if item.truth is not None:
        metrics["psnr_gt"] = fidelity.psnr(item.pred, item.truth)
        metrics["ssim_gt"] = fidelity.ssim(item.pred, item.truth)
    if enc.csd is not None and item.refs:
        from vidstyle.metrics.csd import csd_score

        metrics.update(csd_score(enc.csd, item.pred, item.refs))
    if enc.clip is not None:
        model, processor, tokenizer = enc.clip
        label = model_label(enc.sources["clip"])
        for key, text in (("clip_t_content", item.t_ns), ("clip_t_styled", item.t_sty)):
            if text:
                value = semantic.clip_text_score(model, processor, tokenizer, item.pred, text, name=label)
                metrics[f"{key}@{label}"] = value[f"clip_t@{label}"]
    if enc.dino is not None:
        model, processor = enc.dino
        label = model_label(enc.sources["dino"])
        metrics.update(semantic.dino_self_similarity_distance(model, processor, item.pred, item.raw, name=label))
        metrics.update(semantic.dino_cls_similarity(model, processor, item.pred, item.raw, name=label))
        if frames >= 2:
            features = semantic.dino_cls_features(model, processor, item.pred).cpu().numpy()
            metrics.update(motion.subject_consistency(features, encoder=label))
    if enc.lpips is not None:
        per_frame = _lpips(enc.lpips, item.pred, item.raw)
        series["lpips_content"] = per_frame
        metrics["lpips_content@alexnet"] = float(np.mean(per_frame))
    return metrics, series, skipped


def _even(frames: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` evenly spaced frames of [F, H, W, 3]."""
    return frames[np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))]


def _features(extractor: Callable, images: list[np.ndarray]) -> torch.Tensor:
    """uint8 [H, W, 3] images of any sizes -> features [N, D] in input order, batched by size."""
    out: list[torch.Tensor | None] = [None] * len(images)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        by_size.setdefault(image.shape, []).append(index)
    with torch.no_grad():
        for indices in by_size.values():
            for start in range(0, len(indices), BATCH):
                chunk = indices[start:start + BATCH]
                x = torch.from_numpy(np.stack([images[i] for i in chunk])).permute(0, 3, 1, 2).float() / 255
                for i, feature in zip(chunk, extractor(x).float().cpu(), strict=True):
                    out[i] = feature
    return torch.stack(out)


def score_dataset(items: list[EvalItem], enc: Encoders, video_metrics: list[dict[str, float]],
                  frames_per_video: int = 16) -> tuple[dict[str, float], dict[str, str]]:
    """FID against the style references and the ground truth, and ArtFID; ``(metrics, skipped)``."""
    metrics: dict[str, float] = {}
    skipped: dict[str, str] = {}
    if enc.fid is None:
        return metrics, skipped
    name = enc.fid.name
    outputs = [frame for item in items for frame in _even(item.pred, frames_per_video)]
    refs = [ref for item in items for ref in item.refs]
    truths = [frame for item in items if item.truth is not None for frame in _even(item.truth, frames_per_video)]
    pred_features = _features(enc.fid, outputs) if len(outputs) >= 2 else None
    for key, images in (("fid_style", refs), ("fid_gt", truths)):
        if pred_features is None or len(images) < 2:
            skipped[key] = f"needs at least 2 images on each side (outputs {len(outputs)}, other {len(images)})"
            continue
        metrics[f"{key}@{name}"] = fid_from_features(pred_features, _features(enc.fid, images))
    lpips = [m["lpips_content@alexnet"] for m in video_metrics if "lpips_content@alexnet" in m]
    if f"fid_style@{name}" in metrics and lpips:
        metrics[f"art_fid@{name}"] = art_fid(metrics[f"fid_style@{name}"], float(np.mean(lpips)))
    elif f"fid_style@{name}" in metrics:
        skipped["art_fid"] = "needs LPIPS weights"
    return metrics, skipped
