"""Runs the curation stages of each sample, skipping every stage whose output is already on disk.

Per video: ``raw`` (decode, resize to the working size, cut to ``4k+1`` frames) and ``caption`` (``t_ns``).
Per sample: ``stylize`` (first frame), ``propagate`` (video), ``filter`` (scores), then ``done``: the accepted
sample's clips are published and ``done.json`` holds its manifest record or its rejection. Each stage reads the
previous stages' outputs back from disk, so a resumed run computes exactly what an uninterrupted one does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from vidstyle.data.curation.filters import Filters
from vidstyle.data.curation.layout import Layout
from vidstyle.data.curation.plan import PlannedSample, RawVideo
from vidstyle.data.curation.stages import StageInput, Stages
from vidstyle.data.curation.store import (
    cached,
    folder_lock,
    frames_bytes,
    json_bytes,
    png_bytes,
    read_frames,
    read_json,
    read_png,
    write_atomic,
)
from vidstyle.data.manifest import SampleRecord, write_manifest
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import load_image, read_video, write_video

MIN_FRAMES = 5
PUBLISH_EVERY_S = 10.0
SizeRule = Callable[[RawVideo], tuple[int, int]]


def usable_frames(count: int, limit: int) -> int:
    """The largest ``4k + 1 <= min(count, limit)``."""
    return (min(count, limit) - 1) // 4 * 4 + 1


@dataclass
class RunReport:
    """A run's work (``made`` now, ``skipped`` as already done) and the folder's totals after it."""

    made: int = 0
    skipped: int = 0
    accepted: int = 0
    rejected: int = 0
    planned: int = 0
    filters_skipped: list[str] = field(default_factory=list)


class Curator:
    """Curates the samples of ``plan`` into ``layout.root``; ``size_of(video)`` gives a video's working size."""

    def __init__(self, layout: Layout, plan: list[PlannedSample], stages: Stages, filters: Filters,
                 refs: dict[str, list[str]], frames: int, size_of: SizeRule,
                 on_stage: Callable[[PlannedSample, str], None] | None = None) -> None:
        self.layout, self.plan, self.stages, self.filters = layout, plan, stages, filters
        self.refs, self.frames, self.size_of, self.on_stage = refs, frames, size_of, on_stage
        self._ref_images: dict[str, list[np.ndarray]] = {}

    # ---- run ----------------------------------------------------------------------------------------------
    def run(self, samples: list[PlannedSample], on_sample: Callable[[PlannedSample], None] | None = None
            ) -> RunReport:
        """Process ``samples`` in order; the manifest and rejected list are rewritten every few seconds and at the
        end (also when interrupted), from every finished sample of the whole plan."""
        report = RunReport(planned=len(self.plan), filters_skipped=self.filters.skipped)
        last = time.monotonic()
        try:
            for sample in samples:
                if self.layout.done(sample.id).is_file() and self._published(sample):
                    report.skipped += 1
                else:
                    self.process(sample)
                    report.made += 1
                if on_sample is not None:
                    on_sample(sample)
                if time.monotonic() - last > PUBLISH_EVERY_S:
                    self.publish()
                    last = time.monotonic()
        finally:
            report.accepted, report.rejected = self.publish()
        return report

    def publish(self) -> tuple[int, int]:
        """Under the folder lock, rewrite ``manifest.jsonl`` and ``rejected.jsonl`` from every ``done.json`` of the
        plan, in plan order. Returns the (accepted, rejected) counts."""
        records, rejected = [], []
        with folder_lock(self.layout.root):
            for sample in self.plan:
                path = self.layout.done(sample.id)
                if not path.is_file():
                    continue
                done = read_json(path)
                if done["status"] == "accepted":
                    records.append(SampleRecord.model_validate(done["record"]))
                else:
                    rejected.append(json.dumps(done["rejected"], sort_keys=True, ensure_ascii=False) + "\n")
            write_manifest(self.layout.root, records)
            write_atomic(self.layout.rejected, "".join(rejected).encode("utf-8"))
        return len(records), len(rejected)

    # ---- one sample ---------------------------------------------------------------------------------------
    def process(self, sample: PlannedSample) -> dict:
        """Run the missing stages of ``sample`` and write its ``done.json``; returns its content."""
        raw = self._raw(sample)
        if isinstance(raw, str):
            failed = [{"check": "raw", "message": raw}]
            return self._finish(sample, {"status": "rejected", "rejected": self._rejection(sample, failed, {})})
        frames, fps = raw
        t_ns = self._caption(sample, frames[0])
        job = StageInput(sample_id=sample.id, style_id=sample.style.id, t_ns=t_ns,
                         t_sty=f"{t_ns}, {sample.style.description}", refs=tuple(self._pil_refs(sample)),
                         seed=sample.seed)
        first = self._stylize(sample, frames[0], job)
        stylized = self._propagate(sample, first, frames, fps, job)
        scores = self._scores(sample, frames, stylized)
        failed = self.filters.failures(scores)
        if failed:
            return self._finish(sample, {"status": "rejected", "rejected": self._rejection(sample, failed, scores)})
        record = self._publish_sample(sample, frames, stylized, fps, job, scores)
        return self._finish(sample, {"status": "accepted", "record": record.model_dump(exclude_none=True)})

    def _stage(self, sample: PlannedSample, name: str) -> None:
        if self.on_stage is not None:
            self.on_stage(sample, name)

    def _raw(self, sample: PlannedSample) -> tuple[np.ndarray, Fraction] | str:
        """The working frames ``uint8 [F, H, W, 3]`` and fps of the sample's video, or why it cannot be used."""
        video, path = sample.video, self.layout.raw_frames(sample.video.stem)
        if not path.is_file():
            self._stage(sample, "raw")
            try:
                clip = read_video(video.path, size=self.size_of(video))
            except VidstyleInputError as err:
                return str(err)
            if clip.num_frames < MIN_FRAMES:
                return f"{video.path.name} has {clip.num_frames} frame(s); curation needs at least {MIN_FRAMES}"
            cached(path, lambda: frames_bytes(clip.frames[:usable_frames(clip.num_frames, self.frames)], clip.fps),
                   once=True)
        return read_frames(path)

    def _caption(self, sample: PlannedSample, frame: np.ndarray) -> str:
        path = self.layout.caption(sample.video.stem)
        if not path.is_file():
            self._stage(sample, "caption")
            captioner = self.stages.captioner
            cached(path, lambda: json_bytes({"t_ns": captioner.caption(frame, sample.video.stem),
                                             "captioner": captioner.identity}), once=True)
        return read_json(path)["t_ns"]

    def _stylize(self, sample: PlannedSample, frame: np.ndarray, job: StageInput) -> np.ndarray:
        path = self.layout.first_frame(sample.id)
        if not path.is_file():
            self._stage(sample, "stylize")
            cached(path, lambda: png_bytes(_checked(self.stages.stylizer.stylize(frame, job), frame.shape,
                                                    "the stylizer")))
        return read_png(path)

    def _propagate(self, sample: PlannedSample, first: np.ndarray, frames: np.ndarray, fps: Fraction,
                   job: StageInput) -> np.ndarray:
        path = self.layout.stylized_frames(sample.id)
        if not path.is_file():
            self._stage(sample, "propagate")
            video = _checked(self.stages.propagator.propagate(first, frames, job), frames.shape, "the propagator")
            cached(path, lambda: frames_bytes(video, fps))
        return read_frames(path)[0]

    def _scores(self, sample: PlannedSample, frames: np.ndarray, stylized: np.ndarray) -> dict[str, float]:
        path = self.layout.scores(sample.id)
        if not path.is_file():
            self._stage(sample, "filter")
            cached(path, lambda: json_bytes(self.filters.scores(frames, stylized, self._array_refs(sample))))
        return read_json(path)

    def _publish_sample(self, sample: PlannedSample, frames: np.ndarray, stylized: np.ndarray, fps: Fraction,
                        job: StageInput, scores: dict[str, float]) -> SampleRecord:
        """Write the accepted sample's clips (the raw clip once per video) and return its manifest record."""
        self._stage(sample, "publish")
        raw_rel, stylized_rel = self.layout.raw_clip_rel(sample.video.stem), self.layout.stylized_clip_rel(sample.id)
        for rel, video in ((raw_rel, frames), (stylized_rel, stylized)):
            target = self.layout.root / rel
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                write_video(video, target, fps)
        return SampleRecord(id=sample.id, raw=raw_rel, stylized=stylized_rel, style_refs=self.refs[sample.style.id],
                            t_ns=job.t_ns, t_sty=job.t_sty, style_id=sample.style.id, scores=scores)

    def _published(self, sample: PlannedSample) -> bool:
        """Whether a finished sample's files are all there (an accepted one's clips may have been deleted)."""
        done = read_json(self.layout.done(sample.id))
        if done["status"] != "accepted":
            return True
        record = SampleRecord.model_validate(done["record"])
        return all((self.layout.root / rel).is_file() for _, rel in record.media_paths())

    def _rejection(self, sample: PlannedSample, failed: list[dict], scores: dict[str, float]) -> dict:
        return {"id": sample.id, "raw": sample.video.path.name, "style_id": sample.style.id, "failed": failed,
                "scores": scores}

    def _finish(self, sample: PlannedSample, done: dict) -> dict:
        write_atomic(self.layout.done(sample.id), json_bytes(done))
        return done

    def _array_refs(self, sample: PlannedSample) -> list[np.ndarray]:
        """The style's references as ``uint8 [h, w, 3]`` arrays (loaded once per style)."""
        style_id = sample.style.id
        if style_id not in self._ref_images:
            self._ref_images[style_id] = [np.asarray(load_image(self.layout.root / rel)) for rel in self.refs[style_id]]
        return self._ref_images[style_id]

    def _pil_refs(self, sample: PlannedSample) -> list:
        from PIL import Image

        return [Image.fromarray(image) for image in self._array_refs(sample)]


def _checked(output: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``output`` if it is ``uint8`` of ``shape``; a stage that breaks its contract is a bug, not a user error."""
    if not isinstance(output, np.ndarray) or output.dtype != np.uint8 or output.shape != tuple(shape):
        raise ValueError(f"{what} returned {getattr(output, 'dtype', type(output))} "
                         f"{getattr(output, 'shape', '')}, expected uint8 {tuple(shape)}")
    return output
