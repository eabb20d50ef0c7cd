"""Shared fixtures: the tiny offline DreamStyle pipeline and generated media."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest
from media import make_media, smooth_frames
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

def free_port() -> int:
    """A TCP port the OS reports free on 127.0.0.1 (for a multi-process rendezvous)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# `accelerate launch` flags for 2 CPU processes (gloo); run with ACCELERATE_USE_CPU=1 in the environment
ACCELERATE_CPU_2 = ["--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
                    "--dynamo_backend", "no"]


@pytest.fixture(scope="session")
def tiny_pipe():
    """A DreamStylePipeline on tiny random Wan I2V components (shared: do not leave adapters attached)."""
    from vidstyle import DreamStylePipeline
    from vidstyle.backbones import build_tiny_components

    pipe = DreamStylePipeline(**build_tiny_components("i2v", seed=0))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    odd = root / "odd.mp4"  # 11 frames, 37x29, NTSC rate, with audio
    from vidstyle.video_io import read_video, write_video

    write_video(smooth_frames(11, 29, 37), odd, Fraction(24000, 1001))
    make_media(root / "audio.m4a", None, audio="aac", audio_seconds=0.5)
    with_audio = root / "odd_audio.mp4"
    write_video(read_video(odd).frames, with_audio, Fraction(24000, 1001), audio_source=root / "audio.m4a")
    long = make_media(root / "long.mkv", smooth_frames(22, 34, 50), fps=Fraction(30))
    style = root / "style.png"
    Image.fromarray(smooth_frames(1, 40, 40)[0][:, ::-1].copy()).save(style)
    first = root / "first.jpg"
    Image.fromarray(smooth_frames(1, 29, 37)[0] // 2).save(first)
    return {"odd": with_audio, "long": long, "style": style, "first": first, "audio_only": root / "audio.m4a"}


@pytest.fixture
def encoded_frames(monkeypatch):
    """The frames `vidstyle stylize` hands to the encoder, by output file name.

    Outputs are compared on these: FFmpeg's encoding was seen to vary between runs in one process with
    identical input frames (README, Limits).
    """
    import vidstyle.cli.stylize as stylize_module

    captured: dict[str, object] = {}
    real_write = stylize_module.write_video

    def recording_write(frames, path, *args, **kwargs):
        captured[Path(path).name] = frames.copy()
        return real_write(frames, path, *args, **kwargs)

    monkeypatch.setattr(stylize_module, "write_video", recording_write)
    return captured
