"""What one evaluated video consists of: the prediction and, from the manifest, its raw input, its ground truth
(when the row has ``stylized``), its style references and captions."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidstyle.data.manifest import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SampleRecord, media_kind, read_manifest
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import load_image, read_video, resize_frames

DEFAULT_FPS = Fraction(16)  # images and clips read without a rate are treated as Wan's 16 fps


@dataclass
class EvalItem:
    """``pred``, ``raw`` and ``truth`` are ``uint8 [F, H, W, 3]`` at the prediction's size with one ``F`` (the
    shorter of prediction and raw); ``refs`` are style images ``uint8 [h, w, 3]`` at their own size."""

    id: str
    pred_path: Path
    pred: np.ndarray
    fps: Fraction
    raw: np.ndarray
    truth: np.ndarray | None
    refs: list[np.ndarray]
    t_ns: str
    t_sty: str | None
    style_id: str


def dataset_folder(ref: str | Path) -> Path:
    """``--ref`` may name the dataset folder or its ``manifest.jsonl``."""
    ref = Path(ref)
    return ref.parent if ref.name.endswith(".jsonl") and ref.is_file() else ref


def find_prediction(pred_dir: Path, sample_id: str) -> Path | None:
    """``pred_dir/<id>.<video or image extension>`` (the first that exists, videos first)."""
    for ext in sorted(VIDEO_EXTENSIONS) + sorted(IMAGE_EXTENSIONS):
        if (path := pred_dir / f"{sample_id}{ext}").is_file():
            return path
    return None


def _frames(path: Path, size: tuple[int, int] | None = None) -> tuple[np.ndarray, Fraction]:
    if media_kind(path.name) == "image":
        frames = np.asarray(load_image(path))[None]
        return (resize_frames(frames, *size) if size else frames), DEFAULT_FPS
    video = read_video(path, size=size)
    return video.frames, video.fps


def load_item(folder: Path, record: SampleRecord, pred_path: Path) -> EvalItem:
    """Decode a prediction and its manifest row; raw and truth are resized to the prediction's size."""
    try:
        pred, fps = _frames(pred_path)
        size = (int(pred.shape[1]), int(pred.shape[2]))
        raw, _ = _frames(folder / record.raw, size)
        truth = _frames(folder / record.stylized, size)[0] if record.stylized is not None else None
        refs = [np.asarray(load_image(folder / ref)) for ref in record.style_refs]
    except VidstyleInputError as err:
        raise VidstyleInputError(f"sample {record.id!r}: {err}") from None
    count = min(len(pred), len(raw), len(truth) if truth is not None else len(raw))
    return EvalItem(id=record.id, pred_path=pred_path, pred=pred[:count], fps=fps, raw=raw[:count],
                    truth=truth[:count] if truth is not None else None, refs=refs, t_ns=record.t_ns,
                    t_sty=record.t_sty, style_id=record.style_id)


def match_predictions(pred_dir: str | Path, ref: str | Path) -> tuple[Path, list[tuple[SampleRecord, Path]],
                                                                       list[str]]:
    """``(dataset folder, [(record, prediction path)], ids without a prediction)``; errors when none match."""
    pred_dir, folder = Path(pred_dir), dataset_folder(ref)
    if not pred_dir.is_dir():
        raise VidstyleInputError(f"predictions folder not found: {pred_dir}")
    records = read_manifest(folder, on_error="stop").records
    matched, missing = [], []
    for record in records:
        path = find_prediction(pred_dir, record.id)
        (matched.append((record, path)) if path else missing.append(record.id))
    if not matched:
        raise VidstyleInputError(f"no prediction in {pred_dir} is named after a manifest id (expected e.g. "
                                 f"{records[0].id}.mp4)" if records else f"{folder} has no samples")
    return folder, matched, missing
