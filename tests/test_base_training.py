"""Toy-world base models: the Wan VAE and the I2V / T2V transformers trained from scratch, resume, export, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import typer
from diffusers import WanImageToVideoPipeline, WanPipeline

from vidstyle.backbones import load_pipeline
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.toy import build_toy_world
from vidstyle.training.base_trainer import BaseTrainer
from vidstyle.training.config import BaseTrainConfig, VAETrainConfig
from vidstyle.training.vae_trainer import VAETrainer, encode_mode, load_clips

SIZE, FRAMES = 32, 5
VAE = dict(height=SIZE, width=SIZE, base_dim=8, dim_mult=[1, 1, 1, 1], batch_size=2, crop=16, image_ratio=0.5,
           learning_rate=2e-3, warmup_steps=1, cooldown_steps=3)
BASE = dict(height=SIZE, width=SIZE, num_attention_heads=2, attention_head_dim=16, ffn_dim=32, num_layers=2,
            batch_size=2, learning_rate=3e-3, warmup_steps=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_toy_world(tmp_path_factory.mktemp("toy") / "w", samples=4, size=SIZE, frames=FRAMES, seed=1,
                           eval_samples=2, refs=1)


@pytest.fixture(scope="module")
def vae_export(world, tmp_path_factory):
    """A VAE trained for a few steps and exported (latent statistics measured)."""
    out = tmp_path_factory.mktemp("vae")
    return VAETrainer(VAETrainConfig(dataset=world / "train", eval_dataset=world / "eval", output_dir=out,
                                     max_steps=3, checkpoint_every=100, **VAE)).train()


def vae_config(world, out, **overrides) -> VAETrainConfig:
    return VAETrainConfig(**{**dict(dataset=world / "train", output_dir=out, max_steps=6, checkpoint_every=3,
                                    **VAE), **overrides})


def base_config(world, vae, out, **overrides) -> BaseTrainConfig:
    return BaseTrainConfig(**{**dict(dataset=world / "train", vae=vae, output_dir=out, max_steps=6,
                                     checkpoint_every=3, **BASE), **overrides})


def held_loss(trainer) -> float:
    """Mean loss over fixed micro-steps (same samples, crops, noise levels and noise every time)."""
    with torch.no_grad():
        return float(np.mean([trainer.micro_loss(i, torch.Generator().manual_seed(i)).item() for i in range(6)]))


def test_vae_loss_falls_and_killed_then_resumed_equals_uninterrupted(world, tmp_path):
    trainer = VAETrainer(vae_config(world, tmp_path / "fit", max_steps=40, checkpoint_every=1000))
    before = held_loss(trainer)
    trainer.train()
    assert held_loss(trainer) < 0.8 * before

    full = VAETrainer(vae_config(world, tmp_path / "a"))
    full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        VAETrainer(vae_config(world, tmp_path / "b")).train(on_step=kill)
    resumed = VAETrainer(vae_config(world, tmp_path / "b"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)


def test_vae_export_normalises_latents_and_reports_eval_metrics(world, vae_export):
    from vidstyle.training.vae_trainer import load_vae

    vae = load_vae(vae_export)
    latents = encode_mode(vae, load_clips(world / "train", SIZE, SIZE).frames)  # [N, 16, F_lat, h, w]
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    normalised = ((latents - mean) / std).transpose(0, 1).reshape(16, -1)
    torch.testing.assert_close(normalised.mean(1), torch.zeros(16), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalised.std(1), torch.ones(16), atol=1e-3, rtol=0)
    assert (vae_export.parent / "eval.json").is_file()


def test_i2v_base_learns_matches_the_pipeline_condition_and_stylizes(world, vae_export, tmp_path, encoded_frames):
    trainer = BaseTrainer(base_config(world, vae_export, tmp_path / "i2v", max_steps=30, checkpoint_every=1000))
    condition = trainer.data.condition  # [N, 4 + 16, F_lat, h, w]: mask 1 on the first latent frame only
    assert condition.shape[1] == 20 and trainer.data.image is not None
    assert condition[:, :4, 0].eq(1).all() and condition[:, :4, 1:].eq(0).all()
    before = held_loss(trainer)
    export = trainer.train()
    assert held_loss(trainer) < 0.9 * before

    pipe, _ = load_pipeline(WanImageToVideoPipeline, model=export)
    assert pipe.transformer.config.in_channels == 36
    command = typer.main.get_command(app)
    clip = next((world / "eval" / "clips").glob("*_raw.mp4"))
    args = ["stylize", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", str(export), "--prompt", "a red circle",
            "--steps", "1", "--height", str(SIZE), "--width", str(SIZE), "--segment-frames", str(FRAMES), "-q"]
    assert run_cli(command, args) == 0
    assert encoded_frames["o.mp4"].shape == (FRAMES, SIZE, SIZE, 3)


def test_t2v_base_resumes_exactly_and_exports_a_wan_pipeline(world, vae_export, tmp_path):
    full = BaseTrainer(base_config(world, vae_export, tmp_path / "a", kind="t2v"))
    export = full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        BaseTrainer(base_config(world, vae_export, tmp_path / "b", kind="t2v")).train(on_step=kill)
    resumed = BaseTrainer(base_config(world, vae_export, tmp_path / "b", kind="t2v"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)

    pipe, _ = load_pipeline(WanPipeline, model=export)
    assert isinstance(pipe, WanPipeline) and pipe.transformer.config.in_channels == 16
    pipe.set_progress_bar_config(disable=True)
    video = pipe("a red circle moves left", height=SIZE, width=SIZE, num_frames=FRAMES, num_inference_steps=1,
                 output_type="np", generator=torch.Generator().manual_seed(0)).frames[0]
    assert video.shape == (FRAMES, SIZE, SIZE, 3) and np.isfinite(video).all()


def test_stylized_option_adds_each_stylized_clip_with_its_style_caption(world, vae_export, tmp_path):
    from vidstyle.data.manifest import read_manifest
    from vidstyle.data.samples import load_sample

    records = read_manifest(world / "train").records
    raw = load_clips(world / "train", SIZE, SIZE)
    both = load_clips(world / "train", SIZE, SIZE, stylized=True)
    assert len(raw.frames) == len(records) and len(both.frames) == 2 * len(records)
    torch.testing.assert_close(both.frames[0::2], raw.frames, rtol=0, atol=0)
    stylized = np.stack([load_sample(world / "train", r, SIZE, SIZE).stylized for r in records])
    assert torch.equal(both.frames[1::2], torch.from_numpy(stylized[:, :both.frames.shape[1]]))
    assert both.captions[1::2] == [r.t_sty for r in records] and both.captions[0::2] == [r.t_ns for r in records]
    assert all(r.t_sty != r.t_ns for r in records)

    assert len(VAETrainer(vae_config(world, tmp_path / "vae", stylized=True)).clips.frames) == 2 * len(records)
    trainer = BaseTrainer(base_config(world, vae_export, tmp_path / "t2v", kind="t2v", stylized=True))
    plain = BaseTrainer(base_config(world, vae_export, tmp_path / "plain", kind="t2v"))
    assert len(trainer.data.latents) == 2 * len(plain.data.latents)
    torch.testing.assert_close(trainer.data.latents[0::2], plain.data.latents)
    assert not torch.allclose(trainer.data.text[1::2], plain.data.text)  # the t_sty captions, not t_ns


@pytest.mark.parametrize(("what", "body", "message"), [
    ("vae", "dim_mult: [1, 2]", "dim_mult"),
    ("vae", "crop: 12", "crop"),
    ("base", "kind: v2v\nvae: {vae}", "kind"),
    ("base", "vae: {missing}", "not a VAE folder"),
    ("base", "vae: {vae}\nheight: 40", "height"),
])
def test_bad_configs_give_one_line_errors(world, vae_export, tmp_path, capsys, what, body, message):
    yaml = tmp_path / "c.yaml"
    body = body.format(vae=vae_export, missing=tmp_path / "nothing")
    yaml.write_text(f"dataset: {world / 'train'}\noutput_dir: {tmp_path / 'run'}\n{body}\n")
    assert run_cli(typer.main.get_command(app), ["train", what, "--config", str(yaml)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
