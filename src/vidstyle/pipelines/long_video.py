"""Stylize videos of any length with DreamStyle by chaining segments, resumably.

Segment 0 uses the user's condition. Segment k > 0 keeps that condition and is also
first-frame-guided: its guide is the previous segment's (colour-anchored) output at the new
segment's first frame, which is the previous segment's last frame when the overlap is 1. Overlaps are
cross-faded; every segment after the first has its colour statistics anchored to the first
segment's. Finished segments are written to a work directory with a manifest, so a killed run
continues where it stopped and yields the same frames as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from safetensors.numpy import load_file, save_file

from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.dreamstyle import DreamStylePipeline
from vidstyle.pipelines.segments import (
    anchor_colors,
    color_stats,
    crossfade_weights,
    pad_frames,
    padded_length,
    plan_segments,
)
from vidstyle.pipelines.stylemaster import StyleMasterPipeline

MANIFEST = "manifest.json"


@dataclass
class StyleJob:
    """Everything that determines a stylization's output (the resume fingerprint covers all of it)."""

    prompt: str | None = None
    style_images: list[PIL.Image.Image] = field(default_factory=list)
    first_frame: PIL.Image.Image | None = None
    style_prompt: str | None = None
    negative_prompt: str | None = None
    height: int = 64
    width: int = 64
    steps: int = 50
    guidance: float = 5.0
    seed: int = 0
    segment_frames: int = 81
    overlap: int = 4
    color_anchor: float = 1.0
    model_id: str = ""
    method: str = "dreamstyle"
    style_guidance: float | None = None  # None: the pipeline's default (DreamStyle: no style pass)
    motion_scale: float | None = None

    def fingerprint(self, frames: np.ndarray) -> str:
        """SHA-256 of the input frames, every image's pixels and every other setting."""
        digest = hashlib.sha256(np.ascontiguousarray(frames).tobytes())
        for image in [*self.style_images, *([self.first_frame] if self.first_frame is not None else [])]:
            digest.update(image.convert("RGB").tobytes() + repr(image.size).encode())
        settings = {k: v for k, v in asdict(self).items() if k not in ("style_images", "first_frame")}
        settings["has_first_frame"] = self.first_frame is not None
        digest.update(json.dumps(settings, sort_keys=True).encode())
        return digest.hexdigest()


class SegmentStore:
    """A work directory: ``manifest.json`` plus one ``segment_XXXX.safetensors`` per finished segment."""

    def __init__(self, directory: Path, fingerprint: str, segments: list[tuple[int, int]], resume: bool) -> None:
        self.directory = directory
        manifest = directory / MANIFEST
        if resume and manifest.is_file():
            saved = json.loads(manifest.read_text())
            if saved.get("fingerprint") != fingerprint:
                raise VidstyleInputError(
                    f"{directory} holds a different job (other input or settings); drop --resume to start over")
        elif directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._write_manifest({"version": 1, "fingerprint": fingerprint, "segments": segments})

    def path(self, index: int) -> Path:
        return self.directory / f"segment_{index:04d}.safetensors"

    def load(self, index: int) -> np.ndarray | None:
        path = self.path(index)
        return load_file(path)["frames"] if path.is_file() else None

    def save(self, index: int, frames: np.ndarray) -> None:
        tmp = self.path(index).with_suffix(".tmp")
        save_file({"frames": np.ascontiguousarray(frames)}, tmp)
        os.replace(tmp, self.path(index))

    def _write_manifest(self, content: dict) -> None:
        tmp = self.directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(content, indent=1))
        os.replace(tmp, self.directory / MANIFEST)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def stylize_frames(
    pipe: DreamStylePipeline | StyleMasterPipeline,
    frames: np.ndarray,
    job: StyleJob,
    work_dir: str | os.PathLike | None = None,
    resume: bool = False,
    on_segment: Callable[[int, int], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
) -> np.ndarray:
    """Stylize uint8 ``[F, H, W, 3]`` frames of any length at ``job.height x job.width``.

    ``work_dir`` is needed when the video spans several segments; it is removed on success.
    ``on_segment(index, total)`` runs after each finished segment, ``on_step(segment, step, steps)``
    after each denoising step. Returns uint8 ``[F, job.height, job.width, 3]``.
    """
    segments = plan_segments(len(frames), job.segment_frames, job.overlap)
    store = None
    if len(segments) > 1:
        if work_dir is None:
            raise ValueError("a video longer than one segment needs a work directory")
        store = SegmentStore(Path(work_dir), job.fingerprint(frames), segments, resume)
    outputs: list[np.ndarray] = []
    reference = None
    for index, (start, stop) in enumerate(segments):
        raw = store.load(index) if store else None
        if raw is None:
            guide = None if index == 0 or job.method != "dreamstyle" else PIL.Image.fromarray(
                outputs[-1][start - segments[index - 1][0]])
            raw = _run_segment(pipe, frames[start:stop], job, index, guide, on_step)
            if store:
                store.save(index, raw)
        if index == 0:
            reference = color_stats(raw)
            outputs.append(raw)
        else:
            outputs.append(anchor_colors(raw, reference, job.color_anchor))
        if on_segment:
            on_segment(index, len(segments))
    result = _assemble(outputs, segments, len(frames))
    if store:
        store.remove()
    return result


def _run_segment(pipe, frames: np.ndarray, job: StyleJob, index: int, guide: PIL.Image.Image | None,
                 on_step: Callable[[int, int, int], None] | None) -> np.ndarray:
    """One pipeline call on ``[n, H, W, 3]`` frames (padded to 4k+1, cropped back); uint8 output.

    DreamStyle segments after the first are first-frame-guided by ``guide``; StyleMaster segments keep
    the source's structure through the ControlNet and take no guide.
    """
    padded = pad_frames(frames, padded_length(len(frames)))
    generator = torch.Generator(device="cpu").manual_seed(job.seed + index)
    callback = None
    if on_step is not None:
        def callback(p, step, t, kwargs):
            on_step(index, step, job.steps)
            return {}
    common = dict(negative_prompt=job.negative_prompt, height=job.height, width=job.width,
                  num_inference_steps=job.steps, guidance_scale=job.guidance, generator=generator,
                  output_type="np", callback_on_step_end=callback)
    if job.method == "stylemaster":
        style = {} if job.style_guidance is None else {"style_guidance_scale": job.style_guidance}
        result = pipe(job.prompt or "", style_image=job.style_images[0], video=padded,
                      motion_scale=job.motion_scale, **style, **common).frames[0]
    else:
        result = pipe(padded, prompt=job.prompt, style_images=job.style_images or None,
                      first_frame=guide if guide is not None else job.first_frame, style_prompt=job.style_prompt,
                      style_guidance_scale=job.style_guidance, **common).frames[0]
    return np.clip(np.rint(result[: len(frames)] * 255), 0, 255).astype(np.uint8)


def _assemble(outputs: Sequence[np.ndarray], segments: list[tuple[int, int]], num_frames: int) -> np.ndarray:
    """Lay segment outputs on the timeline, cross-fading each overlap."""
    result = np.zeros((num_frames, *outputs[0].shape[1:]), dtype=np.uint8)
    previous_stop = 0
    for (start, stop), frames in zip(segments, outputs, strict=True):
        overlap = max(0, previous_stop - start)
        if overlap:
            weights = crossfade_weights(overlap)[:, None, None, None]
            blend = (1 - weights) * result[start:previous_stop] + weights * frames[:overlap]
            result[start:previous_stop] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
        result[start + overlap: stop] = frames[overlap:]
        previous_stop = stop
    return result
