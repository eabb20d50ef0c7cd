"""DreamStyle training on a synthetic cache: loss falls, exact resume, config validation, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ACCELERATE_CPU_2, free_port
from PIL import Image

from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset, write_cached_sample, write_index
from vidstyle.training.config import DreamStyleTrainConfig, load_config
from vidstyle.training.dreamstyle_objective import CachedSample, build_step, sample_condition
from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer
from vidstyle.training.loop import lr_factor


def synthetic_cache(folder, count: int = 3):
    """Samples with the tiny I2V shapes: 3 latent frames of 4x6, 2 references, 512 text tokens."""
    g = torch.Generator().manual_seed(0)
    ids = []
    for i in range(count):
        def randn(*shape):
            return torch.randn(*shape, generator=g)

        raw = randn(1, 16, 3, 4, 6)
        sample = CachedSample(raw=raw, stylized=0.5 * raw.flip(-1) + 0.1, first_frame=randn(1, 16, 1, 4, 6),
                              refs=randn(1, 16, 2, 4, 6), text_ns=randn(1, 512, 32), text_sty=randn(1, 512, 32),
                              clip_refs=randn(2, 17, 8), clip_first=randn(1, 17, 8))
        write_cached_sample(folder, f"s{i}", sample)
        ids.append(f"s{i}")
    write_index(folder, ids, {"height": 32, "width": 48})
    return folder


def config(tmp_path, **overrides) -> DreamStyleTrainConfig:
    base = dict(cache=synthetic_cache(tmp_path / "cache"), output_dir=tmp_path / "out", preset="tiny", rank=4,
                max_steps=6, learning_rate=1e-2, checkpoint_every=3, gradient_accumulation=2)
    return DreamStyleTrainConfig(**{**base, **overrides})


def test_condition_sampling_follows_the_ratio():
    g = torch.Generator().manual_seed(0)
    draws = [sample_condition({"text": 1, "style_image": 2, "first_frame": 1}, g) for _ in range(4000)]
    shares = {k: draws.count(k) / len(draws) for k in ("text", "style_image", "first_frame")}
    assert shares["style_image"] == pytest.approx(0.5, abs=0.03) and shares["text"] == pytest.approx(0.25, abs=0.03)
    assert {sample_condition({"text": 0, "style_image": 0, "first_frame": 1}, g) for _ in range(20)} == {"first_frame"}


def test_each_condition_builds_the_inference_layout(tmp_path):
    sample = CachedDataset(synthetic_cache(tmp_path / "c"))[0]
    layout, text, clip = build_step(sample, "style_image")
    assert layout.frame_types == ["video"] * 3 + ["style"] * 2 and clip.shape == (1, 34, 8)
    assert torch.equal(text, sample.text_ns)
    layout, text, clip = build_step(sample, "text")
    assert layout.frame_types == ["video"] * 3 and not clip.any() and torch.equal(text, sample.text_sty)
    layout, _, clip = build_step(sample, "first_frame")
    assert layout.frame_types == ["first_frame"] + ["video"] * 3 and torch.equal(clip, sample.clip_first)


def test_loss_falls_when_overfitting(tmp_path):
    losses = []
    DreamStyleTrainer(config(tmp_path, max_steps=120, checkpoint_every=1000, learning_rate=5e-3)).train(
        on_step=lambda step, loss: losses.append(loss))
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])


def test_learning_rate_warms_up_holds_then_falls_to_zero():
    rates = [lr_factor(step, 10, 2, 4) for step in range(11)]
    assert rates == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0])
    assert lr_factor(500, 10, 0, 0) == 1.0  # no cooldown: constant
    assert lr_factor(12, 10, 0, 4) == 0.0  # past the end: 0, never negative


def test_schedule_counts_optimizer_steps_not_micro_steps(tmp_path):
    trainer = DreamStyleTrainer(config(tmp_path, max_steps=2, gradient_accumulation=2, cooldown_steps=2))
    rates: list[float] = []
    trainer.train(on_step=lambda step, loss: rates.append(trainer.optimizer.param_groups[0]["lr"]))
    assert rates == pytest.approx([0.5e-2, 0.0])


def test_killed_then_resumed_equals_uninterrupted(tmp_path):
    # with a cooldown, so the learning-rate schedule's position must resume too
    full = DreamStyleTrainer(config(tmp_path / "a", cooldown_steps=4))
    full.train()
    expected = full.adapter.state_dict()

    class Killed(Exception):
        pass

    def kill_at_4(step, loss):
        if step == 4:
            raise Killed

    with pytest.raises(Killed):
        DreamStyleTrainer(config(tmp_path / "b", cooldown_steps=4)).train(on_step=kill_at_4)
    assert (tmp_path / "b" / "out" / "checkpoints" / "step-000003" / "weights.safetensors").is_file()
    resumed = DreamStyleTrainer(config(tmp_path / "b", cooldown_steps=4))
    export = resumed.train(resume=True)
    for key, value in expected.items():
        torch.testing.assert_close(resumed.adapter.state_dict()[key], value, rtol=0, atol=1e-6)
    assert (export / "token_lora.safetensors").is_file()


def test_export_loads_into_the_pipeline(tmp_path, tiny_pipe):
    export = DreamStyleTrainer(config(tmp_path, max_steps=2)).train()
    adapter = tiny_pipe.load_token_lora(export)
    try:
        assert adapter.config.rank == 4 and any(p.abs().sum() > 0 for p in adapter.parameters())
    finally:
        adapter.detach()


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("cache: c\noutput_dir: o\nlearning_rate: -1\n", "learning_rate"),
    ("cache: c\noutput_dir: o\nrank: 0\n", "rank"),
    ("cache: c\noutput_dir: o\ncondition_ratio: {text: 0, style_image: 0, first_frame: 0}\n", "condition_ratio"),
    ("cache: c\noutput_dir: o\ncondition_ratio: {video: 1}\n", "condition_ratio"),
    ("cache: c\noutput_dir: o\nbatch_size: 2\n", "batch_size"),
    ("cache: c\noutput_dir: o\nlearning_rat: 0.1\n", "learning_rat"),
    ("cache: c\noutput_dir: o\ntargets: [attn1.to_q, attn2.to_k]\n", "targets"),
    ("cache: c\noutput_dir: o\ntargets: []\n", "targets"),
    ("output_dir: o\n", "cache"),
    ("cache: [unclosed\n", "YAML"),
])
def test_invalid_configs_are_refused_clearly(tmp_path, yaml_text, message):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(VidstyleInputError, match=message) as info:
        load_config(path, DreamStyleTrainConfig)
    assert "\n" not in str(info.value)


def test_defaults_are_the_papers_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cache: c\noutput_dir: o\n")
    cfg = load_config(path, DreamStyleTrainConfig)
    assert (cfg.rank, cfg.learning_rate, cfg.gradient_accumulation, cfg.batch_size) == (64, 4e-5, 2, 1)
    assert cfg.condition_ratio == {"text": 1.0, "style_image": 2.0, "first_frame": 1.0}
    assert cfg.targets == ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ffn.net.0.proj", "ffn.net.2"]


def test_two_processes_keep_identical_weights(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from safetensors.torch import load_file

    cache = synthetic_cache(tmp_path / "cache", count=4)
    script = Path(__file__).with_name("multiprocess_train.py")
    # `accelerate launch --cpu` starts one process (its multi-CPU path needs MPI); --multi_gpu launches through
    # torchrun, and ACCELERATE_USE_CPU makes the group a 2-process gloo one on CPU
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", *ACCELERATE_CPU_2,
                             "--main_process_port", str(free_port()), str(script), str(cache),
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    rank0, rank1 = (load_file(tmp_path / "out" / f"rank{r}.safetensors") for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert any(rank0[k].abs().sum() > 0 for k in rank0 if ".lora_up." in k)  # it trained
    # the schedule counts optimizer steps, not processes: the cooldown over all 3 steps ends at 0 on the last
    for r in (0, 1):
        rates = json.loads((tmp_path / "out" / f"rates{r}.json").read_text())
        assert rates == pytest.approx([1e-2 * 2 / 3, 1e-2 / 3, 0.0])


def test_bf16_and_gradient_checkpointing_train(tmp_path):
    # accelerate keeps one AcceleratorState per process, so a bf16 run needs a process of its own
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
        "from test_dreamstyle_training import config\n"
        "from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer\n"
        "losses = []\n"
        "t = DreamStyleTrainer(config(Path(sys.argv[2]), max_steps=2, mixed_precision='bf16', "
        "gradient_checkpointing=True))\n"
        "t.train(on_step=lambda s, l: losses.append(l))\n"
        "assert len(losses) == 2 and all(np.isfinite(losses)), losses\n"
        "assert any(p.abs().sum() > 0 for n, p in t.adapter.state_dict().items() if '.lora_up.' in n)\n"
        "print('ok', t.accelerator.mixed_precision)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok bf16")


def test_tensorboard_logging_writes_events(tmp_path):
    DreamStyleTrainer(config(tmp_path, max_steps=2, tensorboard=True)).train()
    events = list((tmp_path / "out").rglob("events.out.tfevents*"))
    assert events and events[0].stat().st_size > 0


def test_shared_lora_ablation_trains_one_up_matrix_and_sft_must_match(tmp_path):
    shared = DreamStyleTrainer(config(tmp_path, max_steps=2, token_specific=False, output_dir=tmp_path / "shared"))
    assert all(list(layer.lora_up) == ["video"] for layer in shared.adapter.layers.values())
    export = shared.train()
    with pytest.raises(VidstyleInputError, match="token types"):
        DreamStyleTrainer(config(tmp_path, stage="sft", init_adapter=export, output_dir=tmp_path / "sft"))


def test_cross_attention_query_targets_train_load_and_merge_exactly(tmp_path, tiny_pipe):
    targets = ["attn1.to_q", "attn2.to_q", "attn2.to_out.0", "ffn.net.2"]
    trainer = DreamStyleTrainer(config(tmp_path, max_steps=3, targets=targets, output_dir=tmp_path / "x"))
    assert sorted({name.split(".", 2)[2] for name in trainer.adapter.layers}) == sorted(targets)
    export = trainer.train()
    assert trainer.adapter.layers["blocks.0.attn2.to_q"].lora_up["video"].abs().sum() > 0  # it learned there
    with pytest.raises(VidstyleInputError, match="wraps"):
        DreamStyleTrainer(config(tmp_path, stage="sft", init_adapter=export, output_dir=tmp_path / "sft"))

    video = np.random.default_rng(0).integers(0, 255, (5, 32, 48, 3), dtype=np.uint8)
    ref = Image.fromarray(video[0, ::-1].copy())
    tiny_pipe.set_progress_bar_config(disable=True)

    def run():
        return tiny_pipe(video, prompt="a clip", style_images=[ref], num_inference_steps=2, guidance_scale=2.0,
                         generator=torch.Generator().manual_seed(0), output_type="latent").frames

    plain = run()
    adapter = tiny_pipe.load_token_lora(export, merge=False)
    try:
        assert adapter.config.targets == tuple(targets)
        unmerged = run()
        adapter.merge("video")
        torch.testing.assert_close(run(), unmerged, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(unmerged, plain)
    finally:
        adapter.detach()
