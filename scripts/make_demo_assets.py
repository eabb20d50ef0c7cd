"""Regenerate the demo's bundled assets (src/vidstyle/assets): a procedural clip with audio and a style image.

    python scripts/make_demo_assets.py
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parents[1] / "src" / "vidstyle" / "assets"
FRAMES, HEIGHT, WIDTH, FPS = 25, 64, 96, 12


def sample_frames() -> np.ndarray:
    """A red disc crossing a gradient while a blue square bobs: uint8 [25, 64, 96, 3]."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = []
    for t in range(FRAMES):
        image = np.stack([40 + x * 1.2, 80 + y * 1.5, 160 - x * 0.5], axis=-1)
        disc = (x - (10 + 3 * t)) ** 2 + (y - 30) ** 2 < 100
        image[disc] = (220, 40, 40)
        top = 8 + int(6 * np.sin(t / 3))
        image[top:top + 14, 70:84] = (30, 60, 200)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return np.stack(frames)


def write_clip(path: Path) -> None:
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for index, frame in enumerate(sample_frames()):
            out = av.VideoFrame.from_ndarray(frame, format="rgb24")
            out.pts, out.time_base = index, Fraction(1, FPS)
            container.mux(video.encode(out))
        container.mux(video.encode())
        samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(16000 * FRAMES / FPS)) / 16000)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, start
            container.mux(audio.encode(chunk))
        container.mux(audio.encode())


def style_image() -> Image.Image:
    """Bold diagonal strokes in a warm palette, 96x96."""
    image = Image.new("RGB", (96, 96), (250, 235, 200))
    draw = ImageDraw.Draw(image)
    palette = [(230, 120, 30), (40, 40, 60), (200, 40, 80), (250, 200, 60)]
    for i in range(-96, 96, 8):
        draw.line([(i, 96), (i + 96, 0)], fill=palette[(i // 8) % 4], width=4)
    return image


if __name__ == "__main__":
    ASSETS.mkdir(parents=True, exist_ok=True)
    write_clip(ASSETS / "sample.mp4")
    style_image().save(ASSETS / "style.png")
    print("wrote", *sorted(p.name for p in ASSETS.iterdir()))
