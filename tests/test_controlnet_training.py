"""StyleMaster gray-tile ControlNet training: loss falls, exact resume, export loads, 2 ranks in sync."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ACCELERATE_CPU_2, free_port
from safetensors.torch import load_file

from vidstyle.adapters.tile_controlnet import WanTileControlNet
from vidstyle.backbones import build_tiny_components
from vidstyle.training.cache import write_cached_sample, write_index
from vidstyle.training.config import ControlNetTrainConfig
from vidstyle.training.controlnet_trainer import ControlNetTrainer, ControlSample


def control_cache(folder, count: int = 3):
    g = torch.Generator().manual_seed(0)
    for i in range(count):
        video = torch.randn(1, 16, 3, 4, 6, generator=g)
        write_cached_sample(folder, f"c{i}", ControlSample(video=video, control=video.mean(1, keepdim=True).expand(
            -1, 16, -1, -1, -1).contiguous(), text=torch.randn(1, 512, 32, generator=g)))
    write_index(folder, [f"c{i}" for i in range(count)], {"kind": "controlnet"})
    return folder


def config(tmp_path, **overrides) -> ControlNetTrainConfig:
    base = dict(cache=control_cache(tmp_path / "cache"), output_dir=tmp_path / "out", preset="tiny-t2v",
                max_steps=6, learning_rate=1e-2, checkpoint_every=3, gradient_accumulation=2)
    return ControlNetTrainConfig(**{**base, **overrides})


def test_loss_on_fixed_noise_falls(tmp_path):
    trainer = ControlNetTrainer(config(tmp_path, max_steps=60, checkpoint_every=1000, learning_rate=3e-3))

    def held_loss() -> float:
        with torch.no_grad():
            return float(np.mean([trainer.micro_loss(i, torch.Generator().manual_seed(i)).item() for i in range(12)]))

    before = held_loss()
    trainer.train()
    assert held_loss() < 0.9 * before


def test_killed_then_resumed_equals_uninterrupted_and_export_loads(tmp_path):
    full = ControlNetTrainer(config(tmp_path / "a"))
    export = full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ControlNetTrainer(config(tmp_path / "b")).train(on_step=kill)
    resumed = ControlNetTrainer(config(tmp_path / "b"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)
    loaded = WanTileControlNet.from_pretrained(export, build_tiny_components("t2v")["transformer"])
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in full.state_dict().items())
    assert any(p.abs().sum() > 0 for p in loaded.zero_projections.parameters())  # it trained


def test_two_processes_keep_identical_weights(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from safetensors.torch import save_file\n"
        "from test_controlnet_training import config\n"
        "from vidstyle.training.controlnet_trainer import ControlNetTrainer\n"
        "t = ControlNetTrainer(config(Path(sys.argv[2]), max_steps=3, checkpoint_every=100))\n"
        "t.train()\n"
        "save_file({k: v.contiguous() for k, v in t.state_dict().items()},\n"
        "          Path(sys.argv[2]) / f'rank{t.accelerator.process_index}.safetensors')\n")
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", *ACCELERATE_CPU_2,
                             "--main_process_port", str(free_port()), str(script),
                             str(Path(__file__).parent), str(tmp_path / "mp")], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    rank0, rank1 = (load_file(tmp_path / "mp" / f"rank{r}.safetensors") for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert any(rank0[k].abs().sum() > 0 for k in rank0 if k.startswith("zero_projections"))


def test_cache_and_train_through_the_command_line(tmp_path):
    import json
    from fractions import Fraction

    import typer
    from media import smooth_frames

    from vidstyle.cli.errors import run_cli
    from vidstyle.cli.main import app
    from vidstyle.training.cache import CachedDataset
    from vidstyle.video_io import write_video

    data = tmp_path / "data"
    data.mkdir()
    write_video(smooth_frames(5, 32, 32), data / "v.mp4", Fraction(8))
    (data / "manifest.jsonl").write_text(json.dumps({"id": "v", "raw": "v.mp4", "style_refs": [], "t_ns": "x",
                                                     "t_sty": "x, inked", "style_id": "s"}) + "\n")
    command = typer.main.get_command(app)
    assert run_cli(command, ["cache", str(data), "-o", str(tmp_path / "cache"), "--kind", "controlnet", "--preset",
                             "tiny-t2v", "--height", "32", "--width", "32", "--max-frames", "5", "-q"]) == 0
    sample = CachedDataset(tmp_path / "cache", ControlSample, kind="controlnet")[0]
    assert sample.video.shape == sample.control.shape == (1, 16, 2, 4, 4)
    assert not torch.equal(sample.video, sample.control)
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"cache: {tmp_path / 'cache'}\noutput_dir: {tmp_path / 'run'}\npreset: tiny-t2v\nmax_steps: 2\n")
    assert run_cli(command, ["train", "controlnet", "--config", str(yaml)]) == 0
    assert (tmp_path / "run" / "tile_controlnet" / "tile_controlnet.safetensors").is_file()


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path):
    grads = []
    for checkpointing in (False, True):
        trainer = ControlNetTrainer(config(tmp_path / str(checkpointing), gradient_checkpointing=checkpointing))
        with torch.no_grad():  # non-zero projections, so the control blocks are in the graph
            for p in trainer.controlnet.zero_projections.parameters():
                p.fill_(0.01)
        trainer.micro_loss(0, torch.Generator().manual_seed(0)).backward()
        grads.append({n: p.grad.clone() for n, p in trainer.controlnet.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and any(".attn1." in k for k in grads[1])
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6)
