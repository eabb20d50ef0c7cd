"""The toy-world StyleMaster stage end to end on a tiny world and tiny T2V base: outputs, weights, resume."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from toy_stage_stubs import MeanScorer

from benchmarks.toyworld import stylemaster_train
from benchmarks.toyworld.stylemaster import StyleMasterOptions, run_stylemaster
from benchmarks.toyworld.stylemaster_eval import TASKS, Sampling, run_task
from vidstyle import StyleMasterPipeline
from vidstyle.backbones import build_tiny_components
from vidstyle.data.toy import build_toy_world


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("toy") / "base"
    build_toy_world(base / "world", samples=6, size=32, frames=5, seed=3, eval_samples=3,
                    styles=["posterise", "negative", "sepia", "pop_art"], heldout_styles=["pop_art"])
    StyleMasterPipeline(**build_tiny_components("t2v")).save_pretrained(base / "t2v" / "pipeline")
    return base


def test_stage_writes_results_and_loadable_weights_then_resumes(base: Path, tmp_path: Path, monkeypatch) -> None:
    options = StyleMasterOptions(projection_steps=1, style_steps=1, motion_steps=1, controlnet_steps=1,
                                 motion_rank=2, eval_samples=3, steps=1)
    out = tmp_path / "out"
    results = run_stylemaster(base, out, MeanScorer(), options)

    assert set(results["tasks"]) == {"generation", "transfer"}
    assert {"trained", "untrained"} <= set(results["tasks"]["transfer"])
    assert "RGB-tile ControlNet" in results["ablations"]["transfer"]
    assert "RGB-tile ControlNet" not in results["ablations"]["generation"]
    assert set(results["motion"]) == {"alpha=0", "alpha=-0.3", "alpha=-1", "ground truth"}
    assert json.loads((out / "results.json").read_text())["timings"] == results["timings"]
    assert "| stage | s |" in (out / "results.md").read_text()
    assert (out / "samples_generation.png").is_file() and (out / "samples_transfer.png").is_file()
    for name in ("projection.yaml", "style_default.yaml", "controlnet_rgb.yaml", "motion.yaml"):
        assert (out / name).is_file()
    pipe = StyleMasterPipeline.from_pretrained(str(base / "t2v" / "pipeline"))
    pipe.load_stylemaster(out / "weights")
    assert pipe.controlnet.config.tile == "gray" and pipe.motion_lora is not None
    rgb = StyleMasterPipeline.from_pretrained(str(base / "t2v" / "pipeline"))
    rgb.load_stylemaster(out / "variants" / "tile_rgb")
    assert rgb.controlnet.config.tile == "rgb"
    none = json.loads((out / "variants" / "patches_none" / "style_extractor" / "style_extractor.json").read_text())
    assert none["local_patches"] == "none"

    def refuse(*args, **kwargs):
        raise AssertionError("a finished stage ran again")

    monkeypatch.setattr(stylemaster_train, "run_train", refuse)
    monkeypatch.setattr(stylemaster_train, "run_cache", refuse)
    monkeypatch.setattr("benchmarks.toyworld.stylemaster_eval.load_pipe", refuse)
    again = run_stylemaster(base, out, MeanScorer(), options)
    assert again["tasks"] == results["tasks"] and again["motion"] == results["motion"]


def test_each_task_samples_with_its_own_style_guidance() -> None:
    """Generation and transfer take separate style guidance scales (module docstring: 2 and 4)."""
    seen = {}

    def fake_pipe(prompt, **kwargs):
        seen["video" in kwargs] = kwargs["style_guidance_scale"]
        return SimpleNamespace(frames=[np.zeros((5, 8, 8, 3), np.float32)])

    sample = SimpleNamespace(raw=np.zeros((5, 8, 8, 3), np.uint8), t_ns="a ball", refs=["ref"])
    for task in TASKS:
        assert run_task(fake_pipe, task, [sample], Sampling(1, 1.0, 4.0, 2.0)).shape == (1, 5, 8, 8, 3)
    assert seen == {False: 2.0, True: 4.0}
    defaults = StyleMasterOptions()
    assert (defaults.style_guidance, defaults.generation_style_guidance) == (4.0, 2.0)
