"""The toy-world DreamStyle stage end to end on a tiny world and tiny I2V base: results, reuse, retraining."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from toy_stage_stubs import MeanScorer

from benchmarks.toyworld import dreamstyle
from benchmarks.toyworld.dreamstyle import TASKS, DreamStyleOptions, run_dreamstyle
from vidstyle import DreamStylePipeline
from vidstyle.backbones import build_tiny_components
from vidstyle.data.toy import build_toy_world


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("toy") / "base"
    build_toy_world(base / "world", samples=4, size=32, frames=5, seed=3, eval_samples=2,
                    styles=["posterise", "negative", "pop_art"], heldout_styles=["pop_art"])
    DreamStylePipeline(**build_tiny_components("i2v")).save_pretrained(base / "i2v" / "pipeline")
    return base


def test_stage_scores_every_task_and_variant_then_reuses_or_retrains(base: Path, tmp_path: Path,
                                                                      monkeypatch) -> None:
    options = DreamStyleOptions(train_steps=3, rank=2, eval_samples=2, steps=1, extra_targets="")
    out = tmp_path / "out"
    results = run_dreamstyle(base, out, MeanScorer(), options)
    assert set(results["tasks"]) == set(TASKS)
    guided = "token-specific LoRA, style guidance 4"  # style-image task only (options.style_guidance)
    for task in TASKS:
        extra = {guided} if task == "style_image" else set()
        assert set(results["tasks"][task]) == {"untrained", "token-specific LoRA", "shared LoRA", *extra}
    style_image = results["tasks"]["style_image"]
    assert style_image[guided] != style_image["token-specific LoRA"]  # the style-free pass changed the outputs
    assert json.loads((out / "results.json").read_text())["options"] == vars(options)
    ct = yaml.safe_load((out / "token_specific" / "ct.yaml").read_text())
    assert ct["seed"] == options.seed and ct["max_steps"] == 2 and ct["token_specific"] is True
    assert "targets" not in ct  # no extra targets: the paper's linears, the trainer's default
    adapter = out / "token_specific" / "sft" / "adapter" / "token_lora.safetensors"
    stamp = adapter.stat().st_mtime_ns

    trained: list[Path] = []
    real_train = dreamstyle.run_train
    monkeypatch.setattr(dreamstyle, "run_train", lambda kind, path, resume: trained.append(path) or
                        real_train(kind, path, resume))
    (out / "results.json").unlink()  # evaluate again: the adapters of the same options are reused
    assert run_dreamstyle(base, out, MeanScorer(), options)["tasks"] == results["tasks"]
    assert trained == [] and adapter.stat().st_mtime_ns == stamp

    longer = DreamStyleOptions(train_steps=4, rank=2, eval_samples=2, steps=1, extra_targets="attn2.to_q",
                               sft_cooldown=1.0)
    run_dreamstyle(base, out, MeanScorer(), longer)  # other options retrain both adapters, CT then SFT
    assert [p.name for p in trained] == ["ct.yaml", "sft.yaml", "ct.yaml", "sft.yaml"]
    stages = {stage: yaml.safe_load((out / "shared" / f"{stage}.yaml").read_text()) for stage in ("ct", "sft")}
    assert stages["sft"]["cooldown_steps"] == stages["sft"]["max_steps"] == 2 and "cooldown_steps" not in stages["ct"]
    assert adapter.stat().st_mtime_ns != stamp
    saved = json.loads((adapter.parent / "token_lora.json").read_text())
    assert saved["targets"][-1] == "attn2.to_q" and len(saved["targets"]) == 7


def test_style_sensitivity_scores_how_far_outputs_move_with_the_style():
    from types import SimpleNamespace

    from benchmarks.toyworld.style_sensitivity import mean_pairwise_difference, style_sensitivity, toy_task_sample

    clips = [np.full((2, 4, 4, 3), v, dtype=np.uint8) for v in (0, 3, 6)]
    assert mean_pairwise_difference(clips) == pytest.approx(4.0)  # pairs 3, 6, 3

    def fake_pipe(raw, prompt, style_images=None, first_frame=None, **_):
        """Text and style-image modes ignore the style; first-frame mode repeats the given frame."""
        frames = np.repeat(np.asarray(first_frame)[None], len(raw), 0) if first_frame is not None else raw
        return SimpleNamespace(frames=[frames / 255.0])

    fake_pipe.set_progress_bar_config = lambda **_: None
    styles = ["sepia", "negative", "thermal"]
    scores = style_sensitivity(fake_pipe, styles, steps=1)
    truths = [toy_task_sample(style, 0).stylized for style in styles]
    assert scores["text"] == 0 and scores["style_image"] == 0
    assert scores["ground truth"] == pytest.approx(mean_pairwise_difference(truths))
    firsts = [np.repeat(t[:1], len(t), 0) for t in truths]
    assert scores["first_frame"] == pytest.approx(mean_pairwise_difference(firsts), abs=1e-6)
    assert scores["first_frame"] > 10
