"""Write a StyleMaster triplet dataset of visual anagrams (the ``docs/dataset.md`` format), resumably.

One record per view image of every pair (see ``docs/anagrams.md``)::

    id          p00012-v1-rotate_180           pair 12, view 1
    style_refs  [anagrams/p00012-v1-rotate_180.png]   the view image: the style sample
    raw         content/<object>.png           "a photo of <object>": same content, no style (a negative)
    t_ns        <object>                       t_sty  "a <style> of <object>" (the view's prompt)
    style_id    slug of the style

Views of one pair (and every pair of a style) share the style and differ in content, which is what the
projection trainer's anchor / positive need; its negatives are the anchor's content photo or another style.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from vidstyle.data.anagrams.inputs import PairPlan, content_prompt, plan_pair, slugify, style_prompt
from vidstyle.data.anagrams.sampler import sample_anagram, to_uint8
from vidstyle.data.anagrams.stage1 import IFStage1
from vidstyle.data.anagrams.views import IdentityView, View
from vidstyle.data.manifest import MANIFEST_NAME, SampleRecord, read_manifest, write_manifest
from vidstyle.data.resumable_folder import check_resumable_folder
from vidstyle.data.seeds import derived_seed
from vidstyle.errors import VidstyleInputError

SETTINGS_NAME = "anagrams.json"
FORMAT_VERSION = 1
StepCallback = Callable[[str, int, int], None]  # (what is being sampled, step, steps)


@dataclass
class AnagramSettings:
    """Everything that fixes a folder's images except ``pairs`` (a rerun may ask for more pairs)."""

    styles: list[str]
    objects: list[str]
    views: list[str]
    model: str
    steps: int
    guidance: float
    size: int
    seed: int
    content_template: str = "a photo of {object}"
    format: int = FORMAT_VERSION

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class BuildReport:
    """What a run did: pairs sampled now, pairs found finished, and the folder's records and styles."""

    folder: Path
    made: int = 0
    skipped: int = 0
    records: int = 0
    styles: set[str] = field(default_factory=set)


def check_output_folder(folder: Path, settings: AnagramSettings) -> bool:
    """Whether ``folder`` holds an earlier run with the same settings (resume); a new or empty folder gives
    False. A file, a foreign non-empty folder or other settings are user errors (nothing is written)."""
    return check_resumable_folder(folder, SETTINGS_NAME, settings.as_json())


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` next to ``path``, then ``os.replace`` it into place (no half-written file ever)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_image(image: torch.Tensor, path: Path) -> None:
    """``[C, H, W]`` in ``[-1, 1]`` (C = 3 or 1) -> an 8-bit PNG at ``path``, atomically."""
    array = to_uint8(image[None])[0].numpy()
    picture = PIL.Image.fromarray(array[..., 0] if array.shape[-1] == 1 else np.ascontiguousarray(array))
    _write_atomic(path, lambda tmp: picture.save(tmp, format="PNG"))


def record_id(pair: int, view_index: int, view: View) -> str:
    return f"p{pair:05d}-v{view_index}-{view.name}"


class AnagramBuilder:
    """Samples pairs into ``folder`` with a loaded ``stage1`` model; see the module docstring for the records."""

    def __init__(self, stage1: IFStage1, views: list[View], settings: AnagramSettings, folder: Path,
                 on_step: StepCallback | None = None) -> None:
        if stage1.channels not in (1, 3):
            raise VidstyleInputError(f"the model makes {stage1.channels}-channel images; only 1 or 3 can be saved")
        if settings.size % stage1.size_multiple:
            raise VidstyleInputError(f"--size must be a multiple of {stage1.size_multiple} for this model, "
                                     f"got {settings.size}")
        self.stage1, self.views, self.settings = stage1, views, settings
        self.folder, self.on_step = Path(folder), on_step
        self._negative: torch.Tensor | None = None

    def _sample(self, label: str, views: list[View], prompts: list[str], seed: int) -> torch.Tensor:
        """``[V, C, H, W]``: the view images of one sample."""
        if self._negative is None:
            self._negative = self.stage1.encode([""])
        s = self.settings
        result = sample_anagram(
            self.stage1.unet, self.stage1.scheduler, views, self.stage1.encode(prompts), self._negative,
            height=s.size, steps=s.steps, guidance_scale=s.guidance,
            generator=torch.Generator().manual_seed(seed),
            on_step=None if self.on_step is None else lambda i, n: self.on_step(label, i + 1, n),
        )
        return result.views

    def content_path(self, obj: str) -> str:
        return f"content/{slugify(obj)}.png"

    def _ensure_content(self, obj: str) -> None:
        path = self.folder / self.content_path(obj)
        if not path.is_file():
            image = self._sample(f"content: {obj}", [IdentityView()], [content_prompt(obj)],
                                 derived_seed(self.settings.seed, "content", slugify(obj)))
            save_image(image[0], path)

    def records(self, plan: PairPlan) -> list[SampleRecord]:
        """The records of one pair, one per view (view ``i`` shows object ``i``)."""
        records = []
        for i, (view, obj) in enumerate(zip(self.views, plan.objects, strict=True)):
            rid = record_id(plan.index, i, view)
            records.append(SampleRecord(id=rid, raw=self.content_path(obj), style_refs=[f"anagrams/{rid}.png"],
                                        t_ns=obj, t_sty=style_prompt(plan.style, obj), style_id=slugify(plan.style)))
        return records

    def _finished(self, records: list[SampleRecord], existing: dict[str, SampleRecord]) -> bool:
        return all(existing.get(r.id) == r and all((self.folder / p).is_file() for _, p in r.media_paths())
                   for r in records)

    def run(self, pairs: int, on_pair: Callable[[int], None] | None = None) -> BuildReport:
        """Sample pairs ``0 .. pairs-1`` that the folder does not hold yet; the manifest is rewritten
        atomically after each pair, so an interrupted run loses at most the pair in progress."""
        s, folder = self.settings, self.folder
        folder.mkdir(parents=True, exist_ok=True)
        settings_path = folder / SETTINGS_NAME
        if not settings_path.is_file():
            text = json.dumps(s.as_json(), indent=2) + "\n"
            _write_atomic(settings_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        existing: dict[str, SampleRecord] = {}
        if (folder / MANIFEST_NAME).is_file():
            existing = {r.id: r for r in read_manifest(folder, on_error="skip", check_files=False).records}
        report = BuildReport(folder=folder)
        for index in range(pairs):
            plan = plan_pair(s.styles, s.objects, len(self.views), index, s.seed)
            records = self.records(plan)
            if self._finished(records, existing):
                report.skipped += 1
            else:
                for obj in plan.objects:
                    self._ensure_content(obj)
                images = self._sample(f"pair {index + 1}/{pairs}: {plan.style}", self.views, plan.prompts,
                                      derived_seed(s.seed, "pair", index))
                for record, image in zip(records, images, strict=True):
                    save_image(image, folder / record.style_refs[0])
                for record in records:
                    existing.pop(record.id, None)
                    existing[record.id] = record
                write_manifest(folder, existing.values())
                report.made += 1
            if on_pair is not None:
                on_pair(index)
        report.records = len(existing)
        report.styles = {r.style_id for r in existing.values()}
        return report
