"""`vidstyle evaluate`: predictions vs. a dataset manifest, JSON + self-contained HTML, through the CLI."""

from __future__ import annotations

import json
import os
import shutil
from fractions import Fraction

import numpy as np
import pytest
import torch
import transformers
import typer
from media import smooth_frames
from PIL import Image

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.manifest import SampleRecord, write_manifest
from vidstyle.metrics.amt import AMTS
from vidstyle.metrics.csd import CSDStyleEncoder
from vidstyle.metrics.inception import FIDInceptionV3
from vidstyle.metrics.lpips import LPIPS
from vidstyle.metrics.raft import RAFT
from vidstyle.style.tiny import build_tiny_clip
from vidstyle.video_io import write_video

COMMAND = typer.main.get_command(app)


def cli(*args) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


def _moving_square(frames: int = 9, size: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    video = smooth_frames(frames, *size)
    for i in range(frames):
        video[i, 10:26, 4 + 4 * i:20 + 4 * i] = (240, 40, 40)
    return video


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two rows (raw, ground truth = inverted raw, two refs) and predictions: one equal to the truth, one raw."""
    root = tmp_path_factory.mktemp("eval")
    data, pred = root / "data", root / "pred"
    (data / "clips").mkdir(parents=True)
    (data / "styles").mkdir()
    pred.mkdir()
    records = []
    for k, name in enumerate(("a", "b")):
        raw = _moving_square(seed=k)
        write_video(raw, data / "clips" / f"{name}_raw.mp4", Fraction(16))
        write_video(255 - raw, data / "clips" / f"{name}_sty.mp4", Fraction(16))
        refs = []
        for r in range(2):
            image = np.random.default_rng(10 * k + r).integers(0, 256, (40, 40, 3), dtype=np.uint8)
            Image.fromarray(255 - image).save(data / "styles" / f"{name}{r}.png")
            refs.append(f"styles/{name}{r}.png")
        records.append(SampleRecord(id=name, raw=f"clips/{name}_raw.mp4", stylized=f"clips/{name}_sty.mp4",
                                    style_refs=refs, t_ns="a red square moves right", t_sty="inverted colours",
                                    style_id="invert"))
    write_manifest(data, records)
    shutil.copy(data / "clips" / "a_sty.mp4", pred / "a.mp4")  # perfect: the ground truth itself
    shutil.copy(data / "clips" / "b_raw.mp4", pred / "b.mp4")  # unstylized: the raw input
    return data, pred


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random encoders in their published layouts: tiny CLIP and DINO folders, a tiny CSD checkpoint (architecture
    read from its shapes), full-size FID Inception, RAFT, AMT-S and LPIPS files."""
    folder = tmp_path_factory.mktemp("weights")
    model, tokenizer, processor = build_tiny_clip(seed=0)
    for part in (model, tokenizer, processor):
        part.save_pretrained(folder / "clip")
    torch.manual_seed(0)
    config = transformers.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=32, image_size=32, patch_size=8)
    transformers.ViTModel(config, add_pooling_layer=False).save_pretrained(folder / "dino")
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder / "dino")
    csd = CSDStyleEncoder(image_size=28, patch_size=14, width=128, layers=2, heads=2, output_dim=32)
    torch.save({"model_state_dict": {f"module.{k}": v for k, v in csd.state_dict().items()}}, folder / "csd.pth")
    torch.save(FIDInceptionV3().state_dict(), folder / "pt_inception-2015-12-05-6726825d.pth")
    torch.save({f"module.{k}": v for k, v in RAFT().state_dict().items()}, folder / "raft-things.pth")
    torch.save({"state_dict": AMTS().state_dict()}, folder / "amt-s.pth")
    lpips = LPIPS()
    torch.save(lpips.trunk.state_dict(), folder / "alexnet.pth")
    torch.save({f"lin{k}.{n}": v for k, head in enumerate(lpips.heads) for n, v in head.state_dict().items()},
               folder / "alex.pth")
    return folder


def _report(out) -> dict:
    return json.loads(out.with_suffix(".json").read_text())


def test_weight_free_metrics_and_report_files(dataset, tmp_path, capsys):
    data, pred = dataset
    assert cli("evaluate", "--pred", pred, "--ref", data / "manifest.jsonl", "-o", tmp_path / "report", "-q") == 0
    report = _report(tmp_path / "report")
    videos = {v["id"]: v for v in report["videos"]}
    assert videos["a"]["metrics"]["psnr_gt"] == 100.0 and videos["a"]["metrics"]["ssim_gt"] == pytest.approx(1.0)
    assert videos["b"]["metrics"]["psnr_gt"] < 20 and videos["b"]["metrics"]["ssim_gt"] < 0.9
    for key in ("temporal_flickering", "dynamic_degree@dis-proxy", "motion_smoothness@dis-proxy-interp"):
        assert key in report["summary"]
    assert {"csd (all metrics)", "clip (all metrics)", "lpips (all metrics)"} <= set(report["skipped"])
    assert report["missing"] == []
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<svg" in page
    assert "src='http" not in page and 'src="http' not in page  # self-contained
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_encoders_from_a_weights_folder_and_identities(dataset, weights, tmp_path):
    data, pred = dataset
    assert cli("evaluate", "--pred", pred, "--ref", data, "--weights", weights, "-o", tmp_path / "r.json",
               "--fid-frames", "2", "-q") == 0
    report = _report(tmp_path / "r.json")
    a = next(v for v in report["videos"] if v["id"] == "a")["metrics"]
    assert {"csd@csd-vit-l14", "dynamic_degree@raft", "dynamic_degree@dis-proxy", "motion_smoothness@amt-s",
            "motion_smoothness@dis-proxy-interp"} <= set(a)
    assert not [key for key in report["skipped"] if "all metrics" in key]
    assert {"fid_style@inception-v3", "fid_gt@inception-v3", "art_fid@inception-v3"} == set(report["dataset"])
    lpips_mean = report["summary"]["lpips_content@alexnet"]
    assert report["dataset"]["art_fid@inception-v3"] == pytest.approx(
        (1 + lpips_mean) * (1 + report["dataset"]["fid_style@inception-v3"]))
    b = next(v for v in report["videos"] if v["id"] == "b")["metrics"]  # b's output is its raw input
    assert b["lpips_content@alexnet"] == 0.0
    assert b["dino_struct_dist@dino"] == pytest.approx(0.0, abs=1e-10)
    assert b["dino_cls_cos@dino"] == pytest.approx(1.0, abs=1e-5)
    assert {"clip_t_content@clip", "clip_t_styled@clip", "subject_consistency@dino"} <= set(b)
    assert report["encoders"]["clip"] == str(weights / "clip")
    assert "lpips (all metrics)" not in report["skipped"]


def test_missing_predictions_are_listed(dataset, tmp_path):
    data, pred = dataset
    only_a = tmp_path / "only_a"
    only_a.mkdir()
    shutil.copy(pred / "a.mp4", only_a / "a.mp4")
    assert cli("evaluate", "--pred", only_a, "--ref", data, "-o", tmp_path / "r", "-q") == 0
    report = _report(tmp_path / "r")
    assert report["missing"] == ["b"] and [v["id"] for v in report["videos"]] == ["a"]


@pytest.mark.parametrize("case", ["no-pred-dir", "no-match", "no-out-dir", "bad-fid", "no-weights-dir",
                                  "bad-weights", "no-manifest"])
def test_bad_inputs_exit_2_with_one_line_and_write_nothing(case, dataset, weights, tmp_path, capsys):
    data, pred = dataset
    out = tmp_path / "out" / "report"
    out.parent.mkdir()
    args = ["evaluate", "--pred", pred, "--ref", data, "-o", out, "-q"]
    if case == "no-pred-dir":
        args[2] = tmp_path / "nope"
    elif case == "no-match":
        (tmp_path / "empty").mkdir()
        args[2] = tmp_path / "empty"
    elif case == "no-out-dir":
        args[6] = tmp_path / "missing" / "report"
    elif case == "bad-fid":
        args += ["--fid-features", "vgg"]
    elif case == "no-weights-dir":
        args += ["--weights", tmp_path / "nope"]
    elif case == "bad-weights":
        broken = tmp_path / "broken"
        shutil.copytree(weights, broken)
        (broken / "alex.pth").write_bytes(b"junk")
        args += ["--weights", broken]
    elif case == "no-manifest":
        args[4] = tmp_path
    capsys.readouterr()
    assert cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidstyle: error:") and "\n" not in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []


def test_report_files_are_not_private(dataset, tmp_path):
    data, pred = dataset
    assert cli("evaluate", "--pred", pred, "--ref", data, "-o", tmp_path / "r", "-q") == 0
    umask = os.umask(0)
    os.umask(umask)
    for name in ("r.json", "r.html"):  # what any new file gets, not mkstemp's private 0o600
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
