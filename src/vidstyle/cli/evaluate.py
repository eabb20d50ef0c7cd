"""`vidstyle evaluate`: score a folder of stylized videos against a dataset manifest; JSON + HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from vidstyle.adapters.serialization import atomic_write
from vidstyle.backbones import parse_device
from vidstyle.errors import VidstyleInputError


def report_paths(output: Path) -> tuple[Path, Path]:
    """``-o report``, ``report.json`` or ``report.html`` -> (``report.json``, ``report.html``)."""
    stem = output.with_suffix("") if output.suffix.lower() in (".json", ".html", ".htm") else output
    return stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.html"


def run_evaluate(pred: Path, ref: Path, output: Path, weights: Path | None = None, clip_model: str | None = None,
                 dino_model: str | None = None, fid_features: str = "inception", fid_frames: int = 16,
                 device: str = "cpu", quiet: bool = False) -> tuple[Path, Path]:
    """Evaluate and write the report pair; returns the paths written."""
    from vidstyle.evaluation.encoders import load_encoders
    from vidstyle.evaluation.report_html import render_html
    from vidstyle.evaluation.run import evaluate

    json_path, html_path = report_paths(output)
    if not json_path.parent.is_dir():
        raise VidstyleInputError(f"output folder does not exist: {json_path.parent}")
    for path in (json_path, html_path):
        if path.is_dir():
            raise VidstyleInputError(f"output is a directory: {path}")
    device = str(parse_device(device))
    encoders = load_encoders(weights, clip_model=clip_model, dino_model=dino_model, fid_features=fid_features,
                             device=device)
    report, strips = evaluate(pred, ref, encoders, fid_frames=fid_frames, quiet=quiet)
    text, page = json.dumps(report, indent=2), render_html(report, strips)
    atomic_write(json_path, lambda p: Path(p).write_text(text, encoding="utf-8"))
    atomic_write(html_path, lambda p: Path(p).write_text(page, encoding="utf-8"))
    return json_path, html_path
