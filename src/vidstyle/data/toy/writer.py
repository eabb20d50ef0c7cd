"""Writing a toy world split as a dataset folder (``docs/dataset.md``) plus ``toy_world.json`` and ``scenes.jsonl``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vidstyle.data.manifest import SampleRecord, write_manifest
from vidstyle.data.toy.samples import ToySample, make_toy_sample
from vidstyle.data.toy.world import SamplePlan, ToyWorldConfig
from vidstyle.video_io import write_video

INFO_NAME = "toy_world.json"
SCENES_NAME = "scenes.jsonl"


def _write_clip(folder: Path, rel: str, frames: np.ndarray, fps: float) -> None:
    """``uint8 [F, H, W, 3]`` as an mp4, or as a png when ``rel`` ends with .png (one frame)."""
    if rel.endswith(".png"):
        Image.fromarray(frames[0]).save(folder / rel)
    else:
        write_video(frames, folder / rel, fps)


def write_sample(folder: Path, plan: SamplePlan, sample: ToySample, fps: float) -> SampleRecord:
    """Write the media of ``sample`` under ``folder`` (``clips/``, ``styles/``) and return its manifest row."""
    ext = ".png" if sample.raw.shape[0] == 1 else ".mp4"
    raw, stylized = f"clips/{plan.id}_raw{ext}", f"clips/{plan.id}_stylized{ext}"
    (folder / "clips").mkdir(exist_ok=True)
    (folder / "styles").mkdir(exist_ok=True)
    _write_clip(folder, raw, sample.raw, fps)
    _write_clip(folder, stylized, sample.stylized, fps)
    refs = [f"styles/{plan.id}_ref{k}.png" for k in range(len(sample.refs))]
    for rel, image in zip(refs, sample.refs, strict=True):
        Image.fromarray(image).save(folder / rel)
    return SampleRecord(id=plan.id, raw=raw, stylized=stylized, style_refs=refs, t_ns=sample.t_ns,
                        t_sty=sample.t_sty, style_id=plan.style)


def scene_row(plan: SamplePlan, sample: ToySample) -> str:
    """One ``scenes.jsonl`` line: the id, scene seed, style and every scene parameter of the sample and its refs."""
    return json.dumps({"id": plan.id, "scene_seed": plan.scene_seed, "style_id": plan.style,
                       "scene": sample.scene.to_dict(), "ref_scenes": [s.to_dict() for s in sample.ref_scenes]})


def write_split(folder: Path, config: ToyWorldConfig, split: str,
                on_sample: Callable[[str], None] | None = None) -> list[SampleRecord]:
    """Make and write every sample of ``split`` into the new dataset folder ``folder``; returns the rows."""
    folder.mkdir(parents=True)
    records, rows = [], []
    for plan in config.plan(split):
        sample = make_toy_sample(config.seed, plan.scene_seed, plan.style, config.size, config.frames, config.refs)
        records.append(write_sample(folder, plan, sample, config.fps))
        rows.append(scene_row(plan, sample) + "\n")
        if on_sample is not None:
            on_sample(plan.id)
    write_manifest(folder, records)
    (folder / SCENES_NAME).write_text("".join(rows), encoding="utf-8")
    write_info(folder, {**config.info(), "split": split})
    return records


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """``folder/toy_world.json``, indented."""
    (folder / INFO_NAME).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
