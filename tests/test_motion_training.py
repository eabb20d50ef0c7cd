"""StyleMaster motion LoRA training: still-video cache, loss falls, exact resume, export, CLI."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch
import typer
from media import smooth_frames

from vidstyle.adapters.motion_lora import MotionLoRAAdapter
from vidstyle.backbones import build_tiny_components
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset, read_index, write_cached_sample, write_index
from vidstyle.training.config import MotionTrainConfig
from vidstyle.training.motion_trainer import MotionSample, MotionTrainer
from vidstyle.video_io import write_video


def motion_cache(folder, count: int = 3):
    g = torch.Generator().manual_seed(0)
    for i in range(count):
        frame = torch.randn(1, 16, 1, 4, 6, generator=g)
        write_cached_sample(folder, f"m{i}", MotionSample(still=frame.repeat(1, 1, 3, 1, 1),
                                                          text=torch.randn(1, 512, 32, generator=g)))
    write_index(folder, [f"m{i}" for i in range(count)], {"kind": "motion"})
    return folder


def config(tmp_path, **overrides) -> MotionTrainConfig:
    base = dict(cache=motion_cache(tmp_path / "cache"), output_dir=tmp_path / "out", preset="tiny-t2v", rank=4,
                max_steps=6, learning_rate=1e-2, checkpoint_every=3, gradient_accumulation=2)
    return MotionTrainConfig(**{**base, **overrides})


def test_loss_on_fixed_noise_falls_when_overfitting(tmp_path):
    trainer = MotionTrainer(config(tmp_path, max_steps=100, checkpoint_every=1000, learning_rate=2e-2))

    def held_loss() -> float:  # the same samples, noise levels and noise every time
        with torch.no_grad():
            return float(np.mean([trainer.micro_loss(i, torch.Generator().manual_seed(i)).item() for i in range(12)]))

    before = held_loss()
    trainer.train()
    assert held_loss() < 0.92 * before


def test_killed_then_resumed_equals_uninterrupted_and_export_loads(tmp_path):
    full = MotionTrainer(config(tmp_path / "a"))
    export = full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        MotionTrainer(config(tmp_path / "b")).train(on_step=kill)
    resumed = MotionTrainer(config(tmp_path / "b"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)
    loaded = MotionLoRAAdapter.load(build_tiny_components("t2v")["transformer"], export)
    assert loaded.alpha == -0.3  # trained at +1, exported for inference
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in full.state_dict().items())


def test_a_dreamstyle_trainer_refuses_a_motion_cache(tmp_path):
    with pytest.raises(VidstyleInputError, match="motion cache"):
        CachedDataset(motion_cache(tmp_path / "c"))


def test_cache_and_train_through_the_command_line(tmp_path):
    command = typer.main.get_command(app)
    data = tmp_path / "data"
    data.mkdir()
    rows = []
    for i in range(2):
        write_video(np.roll(smooth_frames(5, 32, 32), 7 * i, axis=2), data / f"v{i}.mp4", Fraction(8))
        rows.append({"id": f"v{i}", "raw": f"v{i}.mp4", "style_refs": [], "t_ns": "a gradient",
                     "t_sty": "a gradient, still", "style_id": "none"})
    (data / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = ["cache", str(data), "-o", str(tmp_path / "cache"), "--kind", "motion", "--preset", "tiny-t2v",
            "--height", "32", "--width", "32", "--frames", "5", "-q"]
    assert run_cli(command, args) == 0
    ids, settings = read_index(tmp_path / "cache")
    assert ids == ["v0", "v1"] and settings["kind"] == "motion"
    assert CachedDataset(tmp_path / "cache", MotionSample, kind="motion")[0].still.shape == (1, 16, 2, 4, 4)
    yaml = tmp_path / "m.yaml"
    yaml.write_text(f"cache: {tmp_path / 'cache'}\noutput_dir: {tmp_path / 'run'}\npreset: tiny-t2v\nrank: 4\n"
                    "max_steps: 2\n")
    assert run_cli(command, ["train", "motion", "--config", str(yaml)]) == 0
    assert (tmp_path / "run" / "motion_lora" / "motion_lora.safetensors").is_file()
    assert run_cli(command, [*args[:-2], "--frames", "6", "-q"]) == 2


def test_gradient_checkpointing_trains(tmp_path):
    losses = []
    MotionTrainer(config(tmp_path, max_steps=2, gradient_checkpointing=True)).train(
        on_step=lambda step, loss: losses.append(loss))
    assert len(losses) == 2 and all(np.isfinite(losses))
