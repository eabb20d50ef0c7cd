"""StyleMaster style-module training: cache through the CLI, stages, dropout, loss falls, exact resume."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch
import typer
from media import smooth_frames
from PIL import Image

from vidstyle import StyleMasterPipeline
from vidstyle.backbones import build_tiny_components
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.errors import VidstyleInputError
from vidstyle.training.config import StyleTrainConfig
from vidstyle.training.style_trainer import StyleTrainer
from vidstyle.video_io import write_video

COMMAND = typer.main.get_command(app)
EXTRACTOR = {"qformer_heads": 2, "projection_hidden": 32, "num_patches": 5, "qformer_queries": 4,
             "num_global_tokens": 2}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A style cache of two 5-frame videos and one image sample, built through `vidstyle cache`."""
    root = tmp_path_factory.mktemp("style")
    rows = []
    for i in range(2):
        frames = np.roll(smooth_frames(5, 32, 32), 9 * i, axis=2)
        write_video(frames, root / f"raw{i}.mp4", Fraction(8))
        write_video(255 - frames, root / f"sty{i}.mp4", Fraction(8))
        Image.fromarray(255 - frames[0][::-1].copy()).save(root / f"ref{i}.png")
        rows.append({"id": f"v{i}", "raw": f"raw{i}.mp4", "stylized": f"sty{i}.mp4", "style_refs": [f"ref{i}.png"],
                     "t_ns": "a gradient", "style_id": "invert"})
    Image.fromarray(smooth_frames(1, 32, 32)[0]).save(root / "img.png")
    Image.fromarray(255 - smooth_frames(1, 32, 32)[0]).save(root / "img_sty.png")
    rows.append({"id": "i0", "raw": "img.png", "stylized": "img_sty.png", "style_refs": ["ref0.png"],
                 "t_ns": "a gradient", "style_id": "invert"})
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = root / "cache"
    assert run_cli(COMMAND, ["cache", str(root), "-o", str(out), "--kind", "style", "--preset", "tiny-t2v",
                             "--clip-model", "tiny", "--height", "32", "--width", "32", "--max-frames", "5",
                             "-q"]) == 0
    return out


def config(cache, out, **overrides) -> StyleTrainConfig:
    base = dict(cache=cache, output_dir=out, preset="tiny-t2v", clip_model="tiny", extractor_options=EXTRACTOR,
                stage="video", max_steps=6, learning_rate=1e-2, checkpoint_every=3, gradient_accumulation=1)
    return StyleTrainConfig(**{**base, **overrides})


def test_stages_pick_their_samples(cache, tmp_path):
    assert len(StyleTrainer(config(cache, tmp_path / "v")).indices) == 2
    assert len(StyleTrainer(config(cache, tmp_path / "i", stage="image")).indices) == 1


def test_loss_on_fixed_noise_falls(cache, tmp_path):
    trainer = StyleTrainer(config(cache, tmp_path / "o", max_steps=60, checkpoint_every=1000, learning_rate=3e-3,
                                  text_dropout=0.0, style_dropout=0.0))

    def held_loss() -> float:
        with torch.no_grad():
            return float(np.mean([trainer.micro_loss(i, torch.Generator().manual_seed(i)).item() for i in range(8)]))

    before = held_loss()
    trainer.train()
    assert held_loss() < 0.9 * before


def test_both_trainable_parts_learn_and_dropout_skips_the_style(cache, tmp_path):
    trainer = StyleTrainer(config(cache, tmp_path / "o", style_dropout=1.0))
    calls = []
    hook = trainer.transformer.register_forward_pre_hook(
        lambda m, a, k: calls.append((k.get("attention_kwargs") or {}).get("style_tokens")), with_kwargs=True)
    loss = trainer.micro_loss(0, torch.Generator().manual_seed(0))
    hook.remove()
    assert calls == [None] and torch.isfinite(loss)
    loss.backward()  # a style-dropped step still backpropagates (zero gradients; every DDP rank steps)
    assert all(p.grad is None or not p.grad.any() for p in trainer.params)
    full = StyleTrainer(config(cache, tmp_path / "p", style_dropout=0.0, text_dropout=0.0, max_steps=3))
    before = {k: v.clone() for k, v in full.state_dict().items()}
    projection = {k: v.clone() for k, v in full.extractor.global_proj.state_dict().items()}
    full.train()  # step 1 moves the (zero-initialised) style values; the extractor learns from step 2
    moved = {k for k, v in full.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("extractor.qformer.") for k in moved)
    assert any(k.startswith("attention.") and ".to_k." in k for k in moved)
    assert all(torch.equal(v, projection[k]) for k, v in full.extractor.global_proj.state_dict().items())


def test_killed_then_resumed_equals_uninterrupted_and_export_loads(cache, tmp_path):
    full = StyleTrainer(config(cache, tmp_path / "a"))
    export = full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        StyleTrainer(config(cache, tmp_path / "b")).train(on_step=kill)
    resumed = StyleTrainer(config(cache, tmp_path / "b"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)
    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.set_progress_bar_config(disable=True)
    pipe.load_stylemaster(export)
    out = pipe("a gradient", style_image=Image.open(cache.parent / "ref0.png"), height=32, width=32, num_frames=5,
               num_inference_steps=2).frames
    assert out.shape == (1, 5, 32, 32, 3)
    video_stage = StyleTrainer(config(cache, tmp_path / "c", init_from=export, max_steps=1))
    assert all(torch.equal(video_stage.state_dict()[k], v) for k, v in full.state_dict().items())


def test_a_stage_without_samples_is_refused(tmp_path, cache):
    from vidstyle.training.cache import read_index, write_index

    ids, settings = read_index(cache)
    only_videos = tmp_path / "c"
    (only_videos / "samples").mkdir(parents=True)
    for name in ("v0", "v1"):
        (only_videos / "samples" / f"{name}.safetensors").write_bytes((cache / "samples" / f"{name}.safetensors")
                                                                      .read_bytes())
    (only_videos / "null_text.safetensors").write_bytes((cache / "null_text.safetensors").read_bytes())
    write_index(only_videos, ["v0", "v1"], settings)
    with pytest.raises(VidstyleInputError, match="image stage"):
        StyleTrainer(config(only_videos, tmp_path / "o", stage="image"))
