"""`vidstyle generate` and `vidstyle stylize --method stylemaster` on the offline tiny-t2v backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from resume_checks import assert_resume_matches

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.video_io import has_audio, read_video

COMMAND = typer.main.get_command(app)
FAST = ["--preset", "tiny-t2v", "--steps", "2", "-q"]


def cli(*args) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A StyleMaster weights directory with non-trivial parts, as training would leave it."""
    import torch

    from vidstyle import StyleMasterPipeline
    from vidstyle.backbones import build_tiny_components

    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.init_stylemaster("tiny", motion_rank=4, qformer_heads=2, projection_hidden=32)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in [*pipe.style_attention.parameters(), *pipe.controlnet.zero_projections.parameters(),
                  *pipe.motion_lora.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return pipe.save_stylemaster(tmp_path_factory.mktemp("sm") / "weights")


def test_generate_video_and_image(media, tmp_path, weights):
    video = tmp_path / "gen.mp4"
    assert cli("generate", "--prompt", "a cat", "--style-image", media["style"], "-o", video, *FAST,
               "--frames", "9", "--height", "32", "--width", "48", "--fps", "12", "--weights", weights) == 0
    out = read_video(video)
    assert out.frames.shape == (9, 32, 48, 3) and out.fps == 12
    image = tmp_path / "gen.png"
    assert cli("generate", "--prompt", "a cat", "--style-image", media["style"], "-o", image, *FAST,
               "--frames", "1", "--height", "32", "--width", "32") == 0
    assert Image.open(image).size == (32, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.mp4", "gen.png"]


def test_motion_scale_changes_generation(media, tmp_path, weights):
    outs = []
    for alpha in ("0.5", "-0.5"):
        path = tmp_path / f"m{alpha}.mp4"
        assert cli("generate", "--prompt", "a cat", "--style-image", media["style"], "-o", path, *FAST,
                   "--frames", "5", "--height", "32", "--width", "32", "--weights", weights,
                   "--motion-scale", alpha) == 0
        outs.append(read_video(path).frames.astype(int))
    assert np.abs(outs[0] - outs[1]).max() > 0


def test_transfer_keeps_frames_fps_size_and_audio(media, tmp_path, weights):
    out = tmp_path / "t.mp4"
    assert cli("stylize", media["odd"], "-o", out, "--method", "stylemaster", "--style-image", media["style"],
               "--prompt", "a gradient", "--weights", weights, *FAST) == 0
    got, src = read_video(out), read_video(media["odd"])
    assert got.frames.shape == src.frames.shape and got.fps == src.fps and has_audio(out)


def test_transfer_long_video_resumes(media, tmp_path, weights, monkeypatch, encoded_frames):
    import vidstyle.pipelines.long_video as long_video

    encoded = encoded_frames
    args = ["--method", "stylemaster", "--style-image", media["style"], "--weights", weights, *FAST,
            "--segment-frames", "9", "--overlap", "2", "--height", "32", "--width", "48"]
    assert cli("stylize", media["long"], "-o", tmp_path / "full.mp4", *args) == 0
    real_run, calls = long_video._run_segment, []

    def dies_on_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run(*a, **k)

    monkeypatch.setattr(long_video, "_run_segment", dies_on_second)
    assert cli("stylize", media["long"], "-o", tmp_path / "r.mp4", *args) == 130
    calls.clear()
    monkeypatch.setattr(long_video, "_run_segment", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    assert cli("stylize", media["long"], "-o", tmp_path / "r.mp4", *args, "--resume") == 0
    assert len(calls) == 2
    assert_resume_matches(encoded["r.mp4"], encoded["full.mp4"])


BAD = {
    "i2v preset": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}", "--preset", "tiny"],
    "two style images": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}",
                         "--style-image", "{style}", *FAST],
    "no style image": ["stylize", "{odd}", "--method", "stylemaster", "--prompt", "x", *FAST],
    "first frame": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}",
                    "--first-frame", "{first}", *FAST],
    "adapter": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}", "--adapter", "{style}",
                *FAST],
    "weights not a directory of parts": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}",
                                         "--weights", "{root}", *FAST],
    "weights with dreamstyle": ["stylize", "{odd}", "--prompt", "x", "--weights", "{root}", "--preset", "tiny"],
    "real backbone without weights": ["stylize", "{odd}", "--method", "stylemaster", "--style-image", "{style}"],
    "unknown method": ["stylize", "{odd}", "--method", "magic", "--style-image", "{style}", *FAST],
    "generate: frames not 4k+1": ["generate", "--prompt", "x", "--style-image", "{style}", "--frames", "8", *FAST],
    "generate: image needs 1 frame": ["generate", "--prompt", "x", "--style-image", "{style}", "--frames", "5",
                                      *FAST],
    "generate: bad style image": ["generate", "--prompt", "x", "--style-image", "{odd}", *FAST],
    "generate: dreamstyle backbone": ["generate", "--prompt", "x", "--style-image", "{style}", "--preset", "tiny"],
    "generate: motion scale out of range": ["generate", "--prompt", "x", "--style-image", "{style}",
                                            "--motion-scale", "9", *FAST],
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_no_output(case, media, tmp_path, capsys):
    names = {k: str(v) for k, v in media.items()} | {"root": str(tmp_path)}
    args = [a.format(**names) for a in BAD[case]]
    out = tmp_path / ("out.png" if "image needs" in case else "out.mp4")
    assert cli(*args, "-o", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidstyle: error: ") and not out.exists(), err
