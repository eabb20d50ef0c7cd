"""Generated media fixtures shared by the tests (PyAV/PIL, nothing downloaded)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 44100


def smooth_frames(num: int, height: int, width: int) -> np.ndarray:
    """Moving colour gradients, uint8 [num, height, width, 3]."""
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    frames = np.empty((num, height, width, 3), dtype=np.uint8)
    for i in range(num):
        t = i / max(num, 1)
        frames[i, ..., 0] = 30 + 190 * ((x + t) % 1.0) * np.ones_like(y)
        frames[i, ..., 1] = 30 + 190 * y * np.ones_like(x)
        frames[i, ..., 2] = 30 + 190 * (0.5 * x + 0.5 * y) * (1 - t / 2)
    return frames


def sine_audio_frames(codec: str, seconds: float) -> list[av.AudioFrame]:
    """A 440 Hz mono sine in 1024-sample frames, in the sample format ``codec`` (aac or pcm_s16le) takes."""
    fmt = "fltp" if codec == "aac" else "s16"
    total = int(seconds * SAMPLE_RATE)
    sine = 0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / SAMPLE_RATE)
    frames = []
    for start in range(0, total, 1024):
        chunk = sine[start : start + 1024]
        data = chunk.astype(np.float32) if fmt == "fltp" else (chunk * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data[None, :], format=fmt, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
        frames.append(frame)
    return frames


def make_media(
    path: Path,
    frames: np.ndarray | None,
    fps: Fraction = Fraction(30),
    audio: str | None = None,
    audio_seconds: float = 1.0,
) -> Path:
    """Write a test file (container from the suffix): optional libx264 video, optional sine audio."""
    with av.open(str(path), "w") as container:
        streams: list[tuple[av.stream.Stream, list[av.frame.Frame]]] = []
        if frames is not None:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
            video_frames = []
            for i, array in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                frame.pts, frame.time_base = i, 1 / fps
                video_frames.append(frame)
            streams.append((stream, video_frames))
        if audio is not None:
            stream = container.add_stream(audio, rate=SAMPLE_RATE, layout="mono")
            streams.append((stream, sine_audio_frames(audio, audio_seconds)))
        for stream, stream_frames in streams:
            for frame in [*stream_frames, None]:
                container.mux(stream.encode(frame))
    return path


def audio_info(path: Path) -> tuple[str, float, list[int]]:
    """(codec name, decoded duration in seconds, packet sizes) of the first audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        sizes = [p.size for p in container.demux(stream) if p.dts is not None]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(stream))
        return stream.codec_context.name, samples / stream.sample_rate, sizes


def dir_listing(path: Path) -> list[str]:
    return sorted(os.listdir(path))
