"""The toy style world: determinism, style operators, references on other content, held-out splits, the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import typer

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample
from vidstyle.data.toy import (
    DEFAULT_HELDOUT,
    HELDOUT_SEED_START,
    STYLES,
    Scene,
    ToyWorldConfig,
    apply_style,
    build_toy_world,
    content_overlaps,
    describe,
    make_toy_sample,
    random_scene,
    render_scene,
)
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import load_image

SIZE, FRAMES = 32, 5
COMMAND = typer.main.get_command(app)


def cli(*args: object) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


def scene_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "scenes.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("toy") / "world"
    return build_toy_world(out, samples=6, size=SIZE, frames=FRAMES, seed=3, eval_samples=3)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """A moving scene, ``uint8 [5, 32, 32, 3]``."""
    return render_scene(random_scene(np.random.default_rng(11)), SIZE, FRAMES)


def test_samples_are_deterministic_for_a_seed_and_differ_across_seeds():
    scene = random_scene(np.random.default_rng(5))
    assert scene == random_scene(np.random.default_rng(5)) != random_scene(np.random.default_rng(6))
    assert np.array_equal(render_scene(scene, SIZE, FRAMES), render_scene(scene, SIZE, FRAMES))
    assert Scene.from_dict(json.loads(json.dumps(scene.to_dict()))) == scene
    for style in ("oil", "pointillism", "watercolour"):
        a, b = (make_toy_sample(7, 2, style, SIZE, FRAMES) for _ in range(2))
        assert a.scene == b.scene and a.t_sty == b.t_sty
        for name in ("raw", "stylized", "refs"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        other = make_toy_sample(8, 2, style, SIZE, FRAMES)
        assert other.scene != a.scene and not np.array_equal(other.raw, a.raw)


def test_written_world_is_identical_for_a_seed_and_differs_across_seeds(world, tmp_path):
    again = build_toy_world(tmp_path / "again", samples=6, size=SIZE, frames=FRAMES, seed=3, eval_samples=3)
    other = build_toy_world(tmp_path / "other", samples=6, size=SIZE, frames=FRAMES, seed=4, eval_samples=3)
    for split in ("train", "eval"):
        for name in ("manifest.jsonl", "scenes.jsonl", "toy_world.json"):
            assert (again / split / name).read_bytes() == (world / split / name).read_bytes(), (split, name)
        refs = sorted(p.relative_to(world) for p in (world / split / "styles").iterdir())
        assert refs and all((again / p).read_bytes() == (world / p).read_bytes() for p in refs)
    assert (other / "train" / "manifest.jsonl").read_bytes() != (world / "train" / "manifest.jsonl").read_bytes()
    assert scene_rows(other / "train")[0]["scene"] != scene_rows(world / "train")[0]["scene"]


def test_describe_names_content_only():
    scene = random_scene(np.random.default_rng(0))
    text = describe(scene)
    thing = scene.things[0]
    assert f"{thing.colour} {thing.shape}" in text and "background" in text
    assert not any(name.replace("_", " ") in text for name in STYLES)


def test_there_are_at_least_ten_named_described_operators():
    assert len(STYLES) >= 10
    for name, op in STYLES.items():
        assert op.name == name and op.description and json.dumps(op.params)
    assert set(DEFAULT_HELDOUT) <= set(STYLES) and len(DEFAULT_HELDOUT) == 2


@pytest.mark.parametrize("name", list(STYLES))
def test_operator_changes_the_image_and_is_stable_over_time(name, clip):
    out = apply_style(name, clip, seed=1)
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert np.abs(out.astype(float) - clip).mean() > 8.0
    static = np.repeat(clip[:1], 4, axis=0)
    still = apply_style(name, static, seed=1)
    assert all(np.array_equal(still[0], frame) for frame in still[1:])
    assert np.array_equal(apply_style(name, clip[:1], seed=1)[0], out[0])  # a first-frame stylizer agrees


def test_operators_differ_from_each_other(clip):
    outs = {name: apply_style(name, clip, seed=1).astype(float) for name in STYLES}
    for a, b in itertools.combinations(outs, 2):
        assert np.abs(outs[a] - outs[b]).mean() > 12.0, (a, b)


def test_unknown_style_is_an_input_error(clip):
    with pytest.raises(VidstyleInputError, match="unknown toy style 'cubism'"):
        apply_style("cubism", clip)


def test_references_show_other_content(world):
    for split in ("train", "eval"):
        records = {r.id: r for r in read_manifest(world / split, on_error="stop").records}
        for row in scene_rows(world / split):
            scene = Scene.from_dict(row["scene"])
            refs = [Scene.from_dict(s) for s in row["ref_scenes"]]
            assert len(refs) == 2 and all(ref != scene and not content_overlaps(ref, scene) for ref in refs)
            assert refs[0] != refs[1]
            sample = load_sample(world / split, records[row["id"]], SIZE, SIZE)
            first = sample.stylized[0].astype(float)
            for ref in sample.refs:
                assert np.abs(np.asarray(ref, dtype=float) - first).mean() > 10.0


def test_heldout_styles_and_seeds_stay_out_of_train(world):
    info = json.loads((world / "toy_world.json").read_text())
    assert info["heldout_styles"] == list(DEFAULT_HELDOUT) and info["seed"] == 3 and info["size"] == SIZE
    train, held = scene_rows(world / "train"), scene_rows(world / "eval")
    assert not {r["style_id"] for r in train} & set(DEFAULT_HELDOUT)
    assert set(DEFAULT_HELDOUT) <= {r["style_id"] for r in held}
    train_seeds, eval_seeds = {r["scene_seed"] for r in train}, {r["scene_seed"] for r in held}
    assert not train_seeds & eval_seeds and min(eval_seeds) >= HELDOUT_SEED_START
    lo, hi = info["heldout_seed_range"]
    assert all(lo <= s < hi for s in eval_seeds) and max(train_seeds) < info["train_seed_range"][1] <= lo
    styles = {s["name"] for s in info["styles"]}
    assert set(info["train_styles"]) | set(info["heldout_styles"]) == styles
    for split in ("train", "eval"):
        assert json.loads((world / split / "toy_world.json").read_text())["split"] == split


def test_written_folders_read_back(world):
    for split, count in (("train", 6), ("eval", 3)):
        report = read_manifest(world / split, on_error="stop")
        assert len(report.records) == count and not report.errors
        for record in report.records:
            sample = load_sample(world / split, record, SIZE, SIZE)
            assert sample.raw.shape == sample.stylized.shape == (FRAMES, SIZE, SIZE, 3)
            assert len(sample.refs) == 2 and record.t_sty.startswith(record.t_ns + ", ")
            assert record.t_sty.endswith(STYLES[record.style_id].description)
            ref = load_image(world / split / record.style_refs[0])
            assert ref.size == (SIZE, SIZE)
    assert sorted(p.name for p in world.parent.iterdir()) == ["world"]  # no temporary folder left


def test_single_frame_worlds_are_images(tmp_path):
    out = build_toy_world(tmp_path / "w", samples=2, size=SIZE, frames=1, seed=0, eval_samples=0, refs=1)
    record = read_manifest(out / "train", on_error="stop").records[0]
    assert record.is_image and not (out / "eval").exists()
    assert load_sample(out / "train", record, SIZE, SIZE).raw.shape == (1, SIZE, SIZE, 3)


def test_config_checks():
    config = ToyWorldConfig.create(samples=8, styles=["neon", "oil", "mosaic"], heldout_styles=["oil"])
    assert config.train_styles == ("neon", "mosaic") and config.eval_samples == 2
    assert [p.style for p in config.plan("eval")] == ["oil", "neon"]
    assert ToyWorldConfig.create(samples=2, styles=["neon", "oil"]).heldout_styles == ()
    with pytest.raises(VidstyleInputError, match="none is left to train on"):
        ToyWorldConfig.create(samples=2, styles=["neon"], heldout_styles=["neon"])
    with pytest.raises(VidstyleInputError, match="held-out style 'oil'"):
        ToyWorldConfig.create(samples=2, styles=["neon", "mosaic"], heldout_styles=["oil"])


def test_cli_builds_and_overwrites_a_world(tmp_path, capsys):
    out = tmp_path / "w"
    args = ["data", "toy", "-o", out, "--samples", "2", "--size", SIZE, "--frames", FRAMES, "--seed", "1", "-q"]
    assert cli(*args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert len(read_manifest(out / "train", on_error="stop").records) == 2
    assert cli(*args, "--seed", "2", "--overwrite", "--heldout-styles", "neon,oil") == 0
    info = json.loads((out / "toy_world.json").read_text())
    assert info["seed"] == 2 and info["heldout_styles"] == ["neon", "oil"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


@pytest.mark.parametrize(
    "extra, setup, message",
    [
        ([], "non-empty", "output directory is not empty"),
        (["--overwrite"], "non-empty", "not a toy world"),
        (["--samples", "0"], None, "--samples"),
        (["--heldout-styles", "cubism"], None, "unknown held-out style 'cubism'"),
        (["--styles", "neon,cubism"], None, "unknown toy style 'cubism'"),
        (["--size", "8"], None, "--size"),
    ],
    ids=["existing", "overwrite-foreign", "zero-samples", "unknown-heldout", "unknown-style", "tiny-size"],
)
def test_cli_bad_inputs_exit_2_with_one_line_and_leave_nothing(tmp_path, capsys, extra, setup, message):
    out = tmp_path / "w"
    if setup == "non-empty":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    args = ["data", "toy", "-o", out, "--samples", "2", "--size", SIZE, "--frames", FRAMES, "-q", *extra]
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vidstyle: error: ") and message in err
    if setup == "non-empty":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == (["w"] if setup else [])
