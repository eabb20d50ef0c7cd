"""dataset -> `vidstyle cache` -> `vidstyle train dreamstyle` -> the adapter stylizes."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import typer
from media import smooth_frames
from PIL import Image

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.training.cache import read_index
from vidstyle.video_io import write_video

COMMAND = typer.main.get_command(app)


def cli(*args) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    rows = []
    for i in range(3):
        frames = smooth_frames(9, 32, 48)
        write_video(np.roll(frames, 5 * i, axis=2), root / f"raw{i}.mp4", Fraction(16))
        write_video(255 - np.roll(frames, 5 * i, axis=2), root / f"sty{i}.mp4", Fraction(16))
        Image.fromarray(255 - frames[0][:, ::-1].copy()).save(root / f"ref{i}.png")
        rows.append({"id": f"v{i}", "raw": f"raw{i}.mp4", "stylized": f"sty{i}.mp4", "style_refs": [f"ref{i}.png"],
                     "t_ns": "a gradient", "t_sty": "a gradient, inverted", "style_id": "invert"})
    rows.append({"id": "broken", "raw": "missing.mp4", "t_ns": "x", "style_id": "s", "style_refs": ["ref0.png"]})
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


CACHE_ARGS = ["--preset", "tiny", "--height", "32", "--width", "48", "--max-frames", "9", "-q"]


def test_cache_resumes_and_shards_without_duplicates(dataset, tmp_path, capsys):
    assert cli("cache", dataset, "-o", tmp_path / "full", *CACHE_ARGS) == 0
    ids, settings = read_index(tmp_path / "full")
    assert ids == ["v0", "v1", "v2"] and settings["height"] == 32
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "full" / "samples").iterdir()}
    assert cli("cache", dataset, "-o", tmp_path / "full", *CACHE_ARGS) == 0  # resume: nothing re-encoded
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "full" / "samples").iterdir()} == before
    for shard in ("0/2", "1/2"):
        assert cli("cache", dataset, "-o", tmp_path / "sharded", *CACHE_ARGS, "--shard", shard) == 0
    assert sorted(p.name for p in (tmp_path / "sharded" / "samples").iterdir()) == sorted(before)
    assert read_index(tmp_path / "sharded")[0] == ["v0", "v1", "v2"]
    assert cli("cache", dataset, "-o", tmp_path / "stop", *CACHE_ARGS, "--on-error", "stop") == 2
    assert "line 4" in capsys.readouterr().err


def test_train_from_the_cache_and_stylize_with_the_adapter(dataset, tmp_path, capsys):
    assert cli("cache", dataset, "-o", tmp_path / "cache", *CACHE_ARGS) == 0
    config = tmp_path / "train.yaml"
    config.write_text(f"cache: {tmp_path / 'cache'}\noutput_dir: {tmp_path / 'run'}\npreset: tiny\nrank: 4\n"
                      "max_steps: 3\ncheckpoint_every: 2\nlearning_rate: 0.001\n")
    assert cli("train", "dreamstyle", "--config", config) == 0
    adapter = tmp_path / "run" / "adapter"
    assert (adapter / "token_lora.safetensors").is_file()
    assert (tmp_path / "run" / "checkpoints" / "step-000002" / "optimizer.pt").is_file()
    out = tmp_path / "out.mp4"
    assert cli("stylize", dataset / "raw0.mp4", "-o", out, "--preset", "tiny", "--adapter", adapter,
               "--style-image", dataset / "ref0.png", "--steps", "1", "-q") == 0
    assert out.is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("cache: x\noutput_dir: y\nrank: -3\n")
    capsys.readouterr()
    assert cli("train", "dreamstyle", "--config", bad) == 2
    assert "rank" in capsys.readouterr().err
    assert cli("train", "motion", "--config", config) == 2
