"""Run an evaluation: match predictions to manifest rows, score each, aggregate, and build the report dict."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from vidstyle.evaluation.encoders import Encoders
from vidstyle.evaluation.items import EvalItem, load_item, match_predictions
from vidstyle.evaluation.scores import DEFINITIONS, score_dataset, score_video
from vidstyle.evaluation.strips import frame_strip

REPORT_VERSION = 1


def _progress(quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("evaluate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.description}"), disable=quiet, transient=True)


def evaluate(pred_dir: str | Path, ref: str | Path, enc: Encoders, fid_frames: int = 16, quiet: bool = False
             ) -> tuple[dict, dict[str, bytes]]:
    """Score every prediction ``pred_dir/<id>.<ext>`` named after a row of the dataset at ``ref``.

    Returns the report: ``summary`` (mean of each per-video metric over the videos that have it), ``dataset``
    (FID, ArtFID), ``videos`` (metrics and per-frame series per video), ``skipped`` (metric -> why it was not
    computed), ``missing`` (ids without a prediction), ``encoders``; and a PNG frame strip per video id.
    """
    folder, matched, missing = match_predictions(pred_dir, ref)
    videos: list[dict] = []
    strips: dict[str, bytes] = {}
    items: list[EvalItem] = []
    skipped: dict[str, str] = {f"{name} (all metrics)": why for name, why in enc.missing.items()}
    with _progress(quiet) as progress:
        task = progress.add_task("", total=len(matched))
        for record, path in matched:
            progress.update(task, description=record.id)
            item = load_item(folder, record, path)
            metrics, series, why = score_video(item, enc)
            skipped.update({f"{key} ({item.id})": reason for key, reason in why.items()})
            entry = {"id": item.id, "prediction": str(path), "style_id": item.style_id, "frames": len(item.pred),
                     "height": int(item.pred.shape[1]), "width": int(item.pred.shape[2]), "fps": float(item.fps),
                     "metrics": metrics, "series": series}
            strips[item.id] = frame_strip(item)
            videos.append(entry)
            items.append(item)
            progress.advance(task)
    dataset, why = score_dataset(items, enc, [v["metrics"] for v in videos], frames_per_video=fid_frames)
    skipped.update(why)
    keys = sorted({key for v in videos for key in v["metrics"]})
    summary = {key: float(np.mean([v["metrics"][key] for v in videos if key in v["metrics"]])) for key in keys}
    report = {
        "version": REPORT_VERSION,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "predictions": str(Path(pred_dir)),
        "dataset_folder": str(folder),
        "encoders": dict(enc.sources),
        "summary": summary,
        "dataset": dataset,
        "videos": videos,
        "missing": missing,
        "skipped": skipped,
        "definitions": {key: DEFINITIONS[key.split("@")[0]] for key in [*keys, *dataset]
                        if key.split("@")[0] in DEFINITIONS},
    }
    return report, strips
