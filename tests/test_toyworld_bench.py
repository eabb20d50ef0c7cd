"""The toy-world benchmark's scores, style descriptor, tables and `vidstyle bench toyworld` command."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import typer
from PIL import Image

from benchmarks.toyworld.report import eval_groups, load_eval_samples, score_table, scored_rows, stage_main
from benchmarks.toyworld.scores import (
    DESCRIPTOR_CLIP,
    SCORE_COLUMNS,
    StyleDescriptor,
    ToyScorer,
    descriptor_accuracy,
    descriptor_clip,
    leakage,
    mean_scores,
    train_style_descriptor,
)
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.samples import Sample
from vidstyle.data.toy import build_toy_world
from vidstyle.style import StyleExtractor
from vidstyle.style.clip import load_clip_model, load_clip_preprocessors


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return build_toy_world(tmp_path_factory.mktemp("tw") / "world", samples=12, size=32, frames=5, seed=3,
                           eval_samples=6, styles=["posterise", "negative", "sepia", "pop_art"],
                           heldout_styles=["pop_art"])


@pytest.fixture(scope="module")
def descriptor(world: Path, tmp_path_factory) -> StyleDescriptor:
    export = train_style_descriptor(world, tmp_path_factory.mktemp("desc"), steps=3)
    return StyleDescriptor(export)


def test_descriptor_is_trained_by_the_projection_trainer_once(world: Path, tmp_path: Path) -> None:
    export = train_style_descriptor(world, tmp_path, steps=2)
    assert (export / "style_extractor.safetensors").is_file()
    assert (tmp_path / "checkpoints").is_dir()  # the product trainer's own checkpoints
    stamp = (export / "style_extractor.safetensors").stat().st_mtime_ns
    assert train_style_descriptor(world, tmp_path, steps=2) == export
    assert (export / "style_extractor.safetensors").stat().st_mtime_ns == stamp


def test_descriptor_runs_on_its_own_saved_random_clip(world: Path, tmp_path: Path) -> None:
    export = train_style_descriptor(world, tmp_path, steps=2)
    clip_dir = tmp_path / "clip"
    assert StyleExtractor.from_pretrained(export).config.clip_model == str(clip_dir)
    model = load_clip_model(str(clip_dir))
    assert model.config.vision_config.hidden_size == DESCRIPTOR_CLIP["hidden_size"]
    assert model.config.vision_config.image_size == DESCRIPTOR_CLIP["image_size"]
    tokenizer, processor = load_clip_preprocessors(str(clip_dir))
    assert tokenizer("a red star")["input_ids"][0] == tokenizer.bos_token_id
    pixels = processor(images=[np.zeros((32, 32, 3), np.uint8)], return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, DESCRIPTOR_CLIP["image_size"], DESCRIPTOR_CLIP["image_size"])
    stamp = (clip_dir / "config.json").stat().st_mtime_ns
    assert descriptor_clip(clip_dir) == clip_dir and (clip_dir / "config.json").stat().st_mtime_ns == stamp
    again = descriptor_clip(tmp_path / "again")  # a pure function of the seed
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 load_clip_model(str(again)).state_dict().values(), strict=True))


def test_embeddings_are_unit_vectors_and_image_types_agree(descriptor: StyleDescriptor) -> None:
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    from_array, from_pil = descriptor.embed([image]), descriptor.embed([Image.fromarray(image)])
    assert torch.allclose(from_array.norm(dim=-1), torch.ones(1))
    assert torch.equal(from_array, from_pil)


def test_ground_truth_scores_perfect_fidelity_and_raw_scores_perfect_structure(world: Path,
                                                                               descriptor: StyleDescriptor) -> None:
    scorer = ToyScorer(descriptor)
    sample = load_eval_samples(world, 1, size=32, frames=5)[0]
    truth = scorer.score(sample.stylized, sample)
    assert list(truth) == list(SCORE_COLUMNS)
    assert truth["psnr"] == 100.0 and truth["ssim"] == pytest.approx(1.0)
    raw = scorer.score(sample.raw, sample)
    assert raw["structure"] == pytest.approx(1.0) and raw["psnr"] < 40
    still = np.repeat(sample.stylized[:1], len(sample.stylized), axis=0)
    assert scorer.score(still, sample)["flicker"] == 0.0
    with pytest.raises(ValueError, match="does not match"):
        scorer.score(sample.stylized[:1], sample)


def test_leakage_is_high_when_the_reference_is_copied() -> None:
    rng = np.random.default_rng(1)
    ref = np.zeros((32, 32, 3), np.uint8)
    ref[8:20, 4:14] = 255
    other = np.zeros((32, 32, 3), np.uint8)
    other[20:30, 18:30] = 200
    copied = np.repeat(ref[None], 3, axis=0)
    unrelated = np.repeat(other[None], 3, axis=0) + rng.integers(0, 3, (3, 32, 32, 3), dtype=np.uint8)
    assert leakage(copied, [Image.fromarray(ref)]) == pytest.approx(1.0)
    assert leakage(unrelated, [Image.fromarray(ref)]) < 0.3


class ColourDescriptor:
    """Embeds an image by its mean colour: styles that differ in colour are told apart."""

    def embed(self, images):
        means = torch.tensor(np.stack([np.asarray(i, np.float32).reshape(-1, 3).mean(0) for i in images]))
        return torch.nn.functional.normalize(means - 100.0, dim=-1)


def _plain(colour: tuple[int, int, int], style: str) -> Sample:
    frame = np.broadcast_to(np.array(colour, np.uint8), (8, 8, 3)).copy()
    return Sample(id=style, raw=frame[None], stylized=frame[None], refs=[Image.fromarray(frame)] * 2, t_ns="",
                  t_sty=None, style_id=style)


def test_descriptor_accuracy_counts_nearest_styles() -> None:
    samples = [_plain((255, 0, 0), "red"), _plain((0, 255, 0), "green"), _plain((0, 0, 255), "blue")]
    assert descriptor_accuracy(ColourDescriptor(), samples) == 1.0
    swapped = samples[:2] + [Sample(**{**vars(samples[2]), "stylized": samples[0].stylized})]
    assert descriptor_accuracy(ColourDescriptor(), swapped) == pytest.approx(2 / 3)


def test_groups_tables_and_means(world: Path, descriptor: StyleDescriptor) -> None:
    samples = load_eval_samples(world, 6, size=32, frames=5)
    groups = eval_groups(world, samples)
    assert sorted(i for rows in groups.values() for i in rows) == list(range(6))
    assert mean_scores([{"a": 1.0}, {"a": 3.0}]) == {"a": 2.0} and mean_scores([]) == {}
    scorer = ToyScorer(descriptor)
    results = {"truth": {g: scored_rows(scorer, [s.stylized for s in samples], samples, rows)
                         for g, rows in groups.items()}}
    table = score_table(results).splitlines()
    assert table[0].startswith("| variant | eval rows | n | psnr ↑") and "leakage ↓" in table[0]
    assert len(table) == 2 + len(groups) and "| 100.00 | 1.000 |" in table[2]


def test_bench_command_refuses_a_missing_base_run(tmp_path: Path, capsys) -> None:
    args = ["bench", "toyworld", "--out", str(tmp_path / "o"), "--reuse-base", str(tmp_path)]
    code = run_cli(typer.main.get_command(app), args)
    err = capsys.readouterr().err
    assert code == 2 and "no finished base run" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bench_command_passes_only_the_options_given(tmp_path: Path, monkeypatch) -> None:
    import importlib

    calls: list[list[str]] = []
    monkeypatch.setattr(importlib, "import_module", lambda name: SimpleNamespace(main=calls.append))
    command = typer.main.get_command(app)
    assert run_cli(command, ["bench", "toyworld", "--out", str(tmp_path / "o")]) == 0
    assert run_cli(command, ["bench", "toyworld", "--out", str(tmp_path / "o"), "--base-minutes", "3",
                             "--dreamstyle-steps", "30", "--no-ship"]) == 0
    assert calls == [["--out", str(tmp_path / "o")],
                     ["--out", str(tmp_path / "o"), "--base-minutes", "3.0", "--dreamstyle-steps", "30", "--no-ship"]]


def test_the_package_ships_trained_toyworld_weights_that_the_demo_runs(tmp_path: Path, monkeypatch) -> None:
    from vidstyle.backbones.shipped import ENV_VAR, load_shipped_toyworld, read_manifest
    from vidstyle.cli.demo import run_demo

    monkeypatch.delenv(ENV_VAR, raising=False)
    manifest = read_manifest()
    assert manifest["provenance"]["command"].startswith("vidstyle bench toyworld")
    components = load_shipped_toyworld("i2v")
    assert next(components["transformer"].parameters()).dtype == torch.float32
    written = run_demo(tmp_path, steps=2, quiet=True)
    assert [p.name for p in written][-1] == "contact_sheet.png" and all(p.stat().st_size > 0 for p in written)


def test_validation_records_come_after_the_reported_ones(world: Path) -> None:
    every = load_eval_samples(world, 6, 32, 5)
    later = load_eval_samples(world, 2, 32, 5, start=3)
    assert [s.t_ns for s in later] == [s.t_ns for s in every[3:5]]
    np.testing.assert_array_equal(later[0].raw, every[3].raw)


def test_guidance_sweep_runs_each_setting_once_with_its_scale(monkeypatch, tmp_path: Path) -> None:
    from benchmarks.toyworld import guidance_sweep

    calls = []

    def fake_stylemaster(pipe, task, samples, sampling):
        calls.append(("stylemaster", pipe, task, sampling.style_guidance_for(task)))
        return np.zeros((1, 5, 8, 8, 3), np.uint8)

    def fake_dreamstyle(pipe, samples, steps, guidance, tasks, style_guidance_scale):
        calls.append(("dreamstyle", pipe.adapter, tasks, style_guidance_scale))
        return {tasks[0]: np.zeros((1, 5, 8, 8, 3), np.uint8)}

    class FakeDreamStyle:
        adapter = None

        @classmethod
        def from_pretrained(cls, path):
            return cls()

        def load_token_lora(self, path):
            self.adapter = str(Path(path).relative_to(tmp_path))

    monkeypatch.setattr(guidance_sweep, "load_pipe", lambda base, weights: "trained" if weights else "untrained")
    monkeypatch.setattr(guidance_sweep, "run_task", fake_stylemaster)
    monkeypatch.setattr(guidance_sweep, "run_tasks", fake_dreamstyle)
    monkeypatch.setattr(guidance_sweep, "DreamStylePipeline", FakeDreamStyle)
    assert guidance_sweep.scales("none, 2,4") == [None, 2.0, 4.0]
    runs = [*guidance_sweep.stylemaster_runs(tmp_path, [], [1.0, 2.0]),
            *guidance_sweep.dreamstyle_runs(tmp_path, [], [None, 4.0])]
    results = guidance_sweep.sweep(runs, lambda videos: {"n": len(videos)})
    assert list(results) == [
        "StyleMaster generation, untrained", "StyleMaster transfer, untrained",
        "StyleMaster generation, style guidance 1", "StyleMaster generation, style guidance 2",
        "StyleMaster transfer, style guidance 1", "StyleMaster transfer, style guidance 2",
        "DreamStyle style image, token-specific, style guidance off",
        "DreamStyle style image, token-specific, style guidance 4",
        "DreamStyle style image, shared, style guidance off", "DreamStyle style image, shared, style guidance 4"]
    assert calls[2:6] == [("stylemaster", "trained", "generation", 1.0), ("stylemaster", "trained", "generation", 2.0),
                          ("stylemaster", "trained", "transfer", 1.0), ("stylemaster", "trained", "transfer", 2.0)]
    own, shared = "dreamstyle/token_specific/sft/adapter", "dreamstyle/shared/sft/adapter"
    assert calls[6:] == [("dreamstyle", own, ("style_image",), None), ("dreamstyle", own, ("style_image",), 4.0),
                         ("dreamstyle", shared, ("style_image",), None), ("dreamstyle", shared, ("style_image",), 4.0)]

    # every task, an untrained row and another run's adapters: style guidance only where there are style images
    calls.clear()
    runs = guidance_sweep.dreamstyle_runs(tmp_path, [], [None, 4.0], ("text", "style_image", "first_frame"),
                                          ("untrained", "token_specific"), tmp_path / "other")
    assert list(guidance_sweep.sweep(runs, lambda videos: {})) == [
        "DreamStyle text, untrained", "DreamStyle style image, untrained, style guidance off",
        "DreamStyle style image, untrained, style guidance 4", "DreamStyle first frame, untrained",
        "DreamStyle text, token-specific", "DreamStyle style image, token-specific, style guidance off",
        "DreamStyle style image, token-specific, style guidance 4", "DreamStyle first frame, token-specific"]
    other = "other/token_specific/sft/adapter"
    assert calls == [("dreamstyle", None, ("text",), None), ("dreamstyle", None, ("style_image",), None),
                     ("dreamstyle", None, ("style_image",), 4.0), ("dreamstyle", None, ("first_frame",), None),
                     ("dreamstyle", other, ("text",), None), ("dreamstyle", other, ("style_image",), None),
                     ("dreamstyle", other, ("style_image",), 4.0), ("dreamstyle", other, ("first_frame",), None)]


def test_a_stage_run_elsewhere_scores_with_the_descriptor_of_its_base_run(monkeypatch, tmp_path: Path) -> None:
    import sys
    from dataclasses import dataclass

    from benchmarks.toyworld import scores

    @dataclass
    class Options:
        seed: int = 0

    built = []
    monkeypatch.setattr(scores, "build_scorer", lambda world, descriptor: built.append((world, descriptor)) or "scorer")
    monkeypatch.setattr(sys, "argv", ["stage", "--base", str(tmp_path / "run" / "base"), "--out",
                                      str(tmp_path / "trials" / "seed1"), "--seed", "1"])
    runs = []
    stage_main("A stage.", Options(), "dreamstyle", lambda *args: runs.append(args) or {}, lambda results: "")
    assert built == [(tmp_path / "run" / "base" / "world", tmp_path / "run" / "descriptor")]
    assert runs == [(tmp_path / "run" / "base", tmp_path / "trials" / "seed1", "scorer", Options(seed=1))]
    # relative folders are made absolute, so a rerun from elsewhere writes the same stage configs and reuses them
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["stage", "--base", "run/base"])
    stage_main("A stage.", Options(), "dreamstyle", lambda *args: runs.append(args) or {}, lambda results: "")
    assert runs[1][:2] == (tmp_path / "run" / "base", tmp_path / "run" / "dreamstyle")


def test_bench_command_works_in_an_absolute_out_folder(monkeypatch, tmp_path: Path) -> None:
    from benchmarks.toyworld import run

    class Stop(Exception):
        pass

    seen = []

    def stop_at_the_base(out: Path, args) -> None:
        seen.append(out)
        raise Stop

    monkeypatch.setattr(run, "ensure_base", stop_at_the_base)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop):
        run.main(["--out", "runs/./toyworld", "--no-ship"])
    assert seen == [tmp_path / "runs" / "toyworld"] and seen[0].is_dir()
