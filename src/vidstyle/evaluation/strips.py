"""Frame strips for the HTML report: rows input / reference / output (/ ground truth) as one PNG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from vidstyle.evaluation.items import EvalItem

THUMB_HEIGHT = 96
LABEL_WIDTH = 84
COLUMNS = 4


def _thumb(frame: np.ndarray, height: int = THUMB_HEIGHT) -> Image.Image:
    """uint8 [H, W, 3] -> a PIL thumbnail ``height`` pixels high."""
    image = Image.fromarray(frame)
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.BICUBIC)


def _pick(frames: np.ndarray, count: int = COLUMNS) -> list[int]:
    return sorted(set(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int).tolist()))


def frame_strip(item: EvalItem) -> bytes:
    """PNG bytes: one labelled row per video (input, output, ground truth) at the same frame indices, and a
    row of the style references."""
    indices = _pick(item.pred)
    rows: list[tuple[str, list[Image.Image]]] = [("input", [_thumb(item.raw[i]) for i in indices])]
    if item.refs:
        rows.append(("reference", [_thumb(ref) for ref in item.refs[:COLUMNS]]))
    rows.append(("output", [_thumb(item.pred[i]) for i in indices]))
    if item.truth is not None:
        rows.append(("truth", [_thumb(item.truth[i]) for i in indices]))
    gap = 4
    width = LABEL_WIDTH + max(sum(t.width + gap for t in thumbs) for _, thumbs in rows)
    canvas = Image.new("RGB", (width, len(rows) * (THUMB_HEIGHT + gap)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, thumbs) in enumerate(rows):
        y = r * (THUMB_HEIGHT + gap)
        draw.text((4, y + THUMB_HEIGHT // 2 - 6), label, fill="black")
        x = LABEL_WIDTH
        for thumb in thumbs:
            canvas.paste(thumb, (x, y))
            x += thumb.width + gap
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
