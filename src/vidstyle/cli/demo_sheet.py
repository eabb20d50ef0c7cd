"""The demo's contact sheet: one labelled row per clip, frames 0, 4 and 8 side by side."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_WIDTH = 150
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)


def contact_sheet(rows: list[tuple[str, np.ndarray]], frames: tuple[int, ...] = (0, 4, 8),
                  scale: int = 2) -> Image.Image:
    """``rows`` are ``(label, uint8 [F, H, W, 3])``; a row with fewer frames than columns (images, such as the
    style references) shows each of them once, from the first column.

    Tiles are enlarged ``scale`` times (nearest neighbour) so 64 px clips stay readable.
    """
    height, width = (side * scale for side in rows[0][1].shape[1:3])
    header = 16
    sheet = Image.new("RGB", (LABEL_WIDTH + width * len(frames), header + height * len(rows)), BACKGROUND)
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for column, frame in enumerate(frames):
        draw.text((LABEL_WIDTH + column * width + 4, 2), f"frame {frame}", fill=TEXT, font=font)
    for index, (label, clip) in enumerate(rows):
        top = header + index * height
        draw.text((4, top + height // 2 - 6), label, fill=TEXT, font=font)
        shown = list(clip) if len(clip) < len(frames) else [clip[min(frame, len(clip) - 1)] for frame in frames]
        for column, image in enumerate(shown):
            tile = Image.fromarray(image).resize((width, height), Image.NEAREST)
            sheet.paste(tile, (LABEL_WIDTH + column * width, top))
    return sheet
