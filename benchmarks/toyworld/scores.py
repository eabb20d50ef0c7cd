"""Per-clip scores of the toy-world benchmark, and the toy style descriptor they use.

Every score compares an output clip (uint8 ``[F, H, W, 3]``) with its eval sample:

- ``psnr`` / ``ssim``: fidelity to the ground-truth stylized clip (higher is better);
- ``style``: cosine between the toy style descriptor of the output frames and of the sample's style references
  (which show other content), mean over frames 0, F/2, F-1 and the references (higher is better);
- ``structure``: agreement with the raw clip's layout: mean over frames of the correlation of blurred edge maps
  (``data/curation/filters.py``; higher is better);
- ``leakage``: the same edge correlation between the output frames and each style reference: content of the
  reference copied into the output (lower is better);
- ``flicker``: mean absolute change between consecutive frames, in [0, 1] (``metrics.py``; lower is better).

The style descriptor is StyleMaster's global style embedding trained by our own projection trainer
(``vidstyle train projection``: triplets of same style / other content) on the toy world's train split, on a
frozen random CLIP built for it (:func:`descriptor_clip`: 64 px input, 4 px patches, width 128, weights drawn at
5x the usual scale so that its blocks are non-linear; its pooled output is then a mean of non-linear patch
features, a texture statistic). :func:`descriptor_accuracy` checks that it tells styles apart on held-out content.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from benchmarks.toyworld.metrics import flicker
from vidstyle.adapters.serialization import replace_directory
from vidstyle.data.curation.filters import content_consistency, edge_map, map_correlation
from vidstyle.data.samples import Sample
from vidstyle.metrics.fidelity import psnr, ssim
from vidstyle.style import StyleExtractor, global_style_embedding
from vidstyle.style.clip import load_clip_preprocessors
from vidstyle.style.tiny import build_tiny_clip

SCORE_COLUMNS = ("psnr", "ssim", "style", "structure", "leakage", "flicker")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "style": True, "structure": True, "leakage": False,
                    "flicker": False}
DESCRIPTOR_STEPS = 1500
DESCRIPTOR_CLIP = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "image_size": 64, "patch_size": 4}


def descriptor_clip(out: Path, seed: int = 0) -> Path:
    """Save the descriptor's frozen random CLIP (``DESCRIPTOR_CLIP`` vision tower, projection 128, weights at 5x
    the usual scale, a 1-layer tiny text tower, the tiny tokenizer) to ``out``, as ``from_pretrained`` reads it;
    kept if there."""
    if (out / "config.json").is_file():
        return out
    model, tokenizer, processor = build_tiny_clip(seed, vision=DESCRIPTOR_CLIP, text_layers=1, projection_dim=128,
                                                  initializer_factor=5.0)
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for part in (model, tokenizer, processor):
        part.save_pretrained(staging)
    replace_directory(staging, out)
    return out


def train_style_descriptor(world: Path, out: Path, steps: int = DESCRIPTOR_STEPS, seed: int = 7) -> Path:
    """Train the descriptor with ``vidstyle train projection`` on ``world/train`` over :func:`descriptor_clip`
    (``out/clip``); returns its export folder (``out/style_extractor``), reused when already there."""
    from vidstyle.cli.train import run_train

    export = out / "style_extractor"
    if (export / "style_extractor.safetensors").is_file():
        return export
    out.mkdir(parents=True, exist_ok=True)
    clip = descriptor_clip(out / "clip")
    config = {"dataset": str(world / "train"), "output_dir": str(out), "clip_model": str(clip), "out_dim": 64,
              "num_global_tokens": 1, "projection_hidden": 256, "triplets_per_step": 16, "margin": 0.2,
              "max_steps": steps, "learning_rate": 1e-3, "warmup_steps": 50, "gradient_accumulation": 1,
              "checkpoint_every": steps, "seed": seed}
    path = out / "projection.yaml"
    path.write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    export = run_train("projection", path, resume=False)
    (out / "timing.json").write_text(json.dumps({"train_seconds": time.perf_counter() - start}) + "\n")
    return export


class StyleDescriptor:
    """L2-normalised global style embeddings ``[N, D]`` of RGB images, from a projection-trainer export."""

    def __init__(self, export: Path) -> None:
        self.extractor = StyleExtractor.from_pretrained(export).eval()
        _, self.processor = load_clip_preprocessors(self.extractor.config.clip_model)

    @torch.no_grad()
    def embed(self, images: Iterable[np.ndarray | Image.Image]) -> torch.Tensor:
        """uint8 ``[H, W, 3]`` arrays or PIL images -> ``[N, D]`` unit vectors (the config's fixed shuffle)."""
        arrays = [np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image) for image in images]
        pixels = self.processor(images=arrays, return_tensors="pt")["pixel_values"]
        return F.normalize(global_style_embedding(self.extractor, pixels).float(), dim=-1)


def key_frames(clip: np.ndarray) -> list[np.ndarray]:
    """Frames 0, F // 2 and F - 1 of ``[F, H, W, 3]`` (fewer for short clips)."""
    return [clip[i] for i in sorted({0, len(clip) // 2, len(clip) - 1})]


def style_similarity(descriptor: StyleDescriptor, clip: np.ndarray, refs: list[Image.Image]) -> float:
    """Mean descriptor cosine between the key frames of ``clip`` and every reference."""
    return float((descriptor.embed(key_frames(clip)) @ descriptor.embed(refs).T).mean())


def leakage(clip: np.ndarray, refs: list[Image.Image]) -> float:
    """Mean edge-map correlation between the frames of ``clip`` and each reference resized to the frame size."""
    height, width = clip.shape[1:3]
    maps = [edge_map(np.asarray(ref.convert("RGB").resize((width, height), Image.BICUBIC))) for ref in refs]
    frames = [edge_map(frame) for frame in clip]
    return float(np.mean([map_correlation(frame, ref) for frame in frames for ref in maps]))


class ToyScorer:
    """Scores output clips against their eval samples (see the module docstring for the columns)."""

    def __init__(self, descriptor: StyleDescriptor) -> None:
        self.descriptor = descriptor

    def score(self, output: np.ndarray, sample: Sample) -> dict[str, float]:
        """``output`` uint8 ``[F, H, W, 3]`` with the sample's frame count -> one value per ``SCORE_COLUMNS``."""
        if output.shape != sample.stylized.shape:
            raise ValueError(f"output {output.shape} does not match the ground truth {sample.stylized.shape}")
        return {"psnr": psnr(output, sample.stylized), "ssim": ssim(output, sample.stylized),
                "style": style_similarity(self.descriptor, output, sample.refs),
                "structure": content_consistency(sample.raw, output), "leakage": leakage(output, sample.refs),
                "flicker": flicker(output)}


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Column means over score rows (the columns of the first row)."""
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]} if rows else {}


def descriptor_accuracy(descriptor: StyleDescriptor, samples: list[Sample]) -> float:
    """Nearest-style retrieval accuracy: the share of samples whose middle ground-truth frame is closer (cosine)
    to the mean reference embedding of its own style than to that of any other style among ``samples``."""
    styles = sorted({s.style_id for s in samples})
    centroids = torch.stack([F.normalize(descriptor.embed([r for s in samples if s.style_id == style
                                                           for r in s.refs]).mean(0), dim=0) for style in styles])
    frames = descriptor.embed([s.stylized[len(s.stylized) // 2] for s in samples])
    nearest = (frames @ centroids.T).argmax(dim=1)
    return float(np.mean([styles[int(i)] == s.style_id for i, s in zip(nearest, samples, strict=True)]))


def build_scorer(world: Path, descriptor: Path, steps: int = DESCRIPTOR_STEPS) -> ToyScorer:
    """The scorer of a toy world; its descriptor is trained once into ``descriptor`` (a run's
    ``OUT/descriptor``, shared by the stages) and reused from there."""
    return ToyScorer(StyleDescriptor(train_style_descriptor(world, descriptor, steps)))
