"""Tile kinds of the StyleMaster ControlNet: gray (the paper) and RGB (its ablation), end to end."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import typer
from media import smooth_frames
from PIL import Image

from vidstyle import StyleMasterPipeline
from vidstyle.adapters.gray_tile import LUMA_WEIGHTS, gray_tile_control, rgb_tile_control, tile_control
from vidstyle.adapters.tile_controlnet import TileControlNetConfig, WanTileControlNet
from vidstyle.backbones import build_tiny_components
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.errors import VidstyleInputError
from vidstyle.style import StyleExtractor, StyleExtractorConfig, build_tiny_clip
from vidstyle.training.cache import read_index, write_index
from vidstyle.training.config import ControlNetTrainConfig
from vidstyle.training.controlnet_trainer import ControlNetTrainer

EXTRACTOR = dict(clip_model="tiny", out_dim=24, num_patches=5, qformer_queries=4, qformer_heads=2,
                 num_global_tokens=2, projection_hidden=32)


def pixels(seed: int = 0, size: tuple[int, int] = (16, 24)) -> torch.Tensor:
    """Random ``[1, 3, 2, H, W]`` in ``[-1, 1]``."""
    return torch.rand(1, 3, 2, *size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def old_gray_tile(x: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """The gray tile as written before tile kinds: luma, area-average down, bilinear up."""
    b, _, f, h, w = x.shape
    luma = (x * torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1, 1)).sum(1).reshape(b * f, 1, h, w)
    small = F.adaptive_avg_pool2d(luma, (math.ceil(h / factor), math.ceil(w / factor)))
    up = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return up.reshape(b, 1, f, h, w).expand(-1, 3, -1, -1, -1)


def test_gray_tile_equals_the_old_behaviour_and_the_dispatch():
    x = pixels(size=(20, 28))
    torch.testing.assert_close(gray_tile_control(x), old_gray_tile(x), rtol=0, atol=0)
    assert torch.equal(tile_control(x, "gray"), gray_tile_control(x))
    assert torch.equal(tile_control(x), gray_tile_control(x))
    assert torch.equal(tile_control(x, "rgb", factor=4), rgb_tile_control(x, factor=4))
    with pytest.raises(ValueError, match="tile kind"):
        tile_control(x, "sepia")


def test_rgb_tile_keeps_colour_and_blurs():
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1, 1).expand(1, 3, 2, 16, 16)
    torch.testing.assert_close(rgb_tile_control(red), red)  # a flat colour survives, channels differ
    gray = gray_tile_control(red)
    assert torch.equal(gray[:, 0], gray[:, 1]) and not torch.allclose(gray, red)
    checker = (torch.arange(16).view(16, 1) + torch.arange(16).view(1, 16)) % 2 * 2.0 - 1  # 1-pixel checkerboard
    video = torch.stack([checker, -checker, checker]).view(1, 3, 1, 16, 16)
    tile = rgb_tile_control(video)
    assert tile.shape == video.shape and tile.abs().max() < 0.05  # fine texture gone
    x = pixels(1)
    per_channel = torch.cat([gray_tile_control(x[:, c:c + 1].expand(-1, 3, -1, -1, -1))[:, :1] for c in range(3)], 1)
    torch.testing.assert_close(rgb_tile_control(x), per_channel)  # the same blur as the gray tile, per channel
    for bad in (lambda: rgb_tile_control(torch.zeros(1, 1, 2, 8, 8)), lambda: rgb_tile_control(x, factor=0)):
        with pytest.raises(ValueError):
            bad()


def test_config_round_trip_and_old_configs_load_as_gray(tmp_path):
    transformer = build_tiny_components("t2v")["transformer"]
    assert TileControlNetConfig().tile == "gray"
    with pytest.raises(ValueError, match="tile"):
        TileControlNetConfig(tile="RGB")
    net = WanTileControlNet(transformer, TileControlNetConfig(tile="rgb"))
    net.save_pretrained(tmp_path / "rgb")
    assert WanTileControlNet.from_pretrained(tmp_path / "rgb", transformer).config.tile == "rgb"
    meta_path = tmp_path / "rgb" / "tile_controlnet.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["tile"]  # as written before tile kinds existed
    meta_path.write_text(json.dumps(meta))
    assert WanTileControlNet.from_pretrained(tmp_path / "rgb", transformer).config.tile == "gray"
    meta["config"]["tile"] = "sepia"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VidstyleInputError, match="tile"):
        WanTileControlNet.from_pretrained(tmp_path / "rgb", transformer)


@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_transfer_encodes_the_configured_tile(kind, monkeypatch):
    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.set_progress_bar_config(disable=True)
    clip, tokenizer, processor = build_tiny_clip()
    net = WanTileControlNet(pipe.transformer, TileControlNetConfig(tile=kind))
    pipe.set_stylemaster(StyleExtractor(StyleExtractorConfig(**EXTRACTOR), clip), processor, tokenizer,
                         controlnet=net)
    encoded = []
    real_encode = pipe.encode_pixels
    monkeypatch.setattr(pipe, "encode_pixels", lambda x: encoded.append(x.clone()) or real_encode(x))
    video = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    style = Image.fromarray(video[0])
    pipe("a cat", style_image=style, video=video, height=32, width=32, num_inference_steps=1)
    expected = tile_control(pipe.video_to_pixels(video, 32, 32), kind)
    torch.testing.assert_close(encoded[0], expected)
    channels_equal = torch.equal(encoded[0][:, 0], encoded[0][:, 2])
    assert channels_equal == (kind == "gray")


def write_dataset(folder):
    from vidstyle.video_io import write_video

    folder.mkdir()
    write_video(smooth_frames(5, 32, 32), folder / "v.mp4", Fraction(8))
    (folder / "manifest.jsonl").write_text(json.dumps({"id": "v", "raw": "v.mp4", "style_refs": [], "t_ns": "x",
                                                       "t_sty": "x, inked", "style_id": "s"}) + "\n")
    return folder


def cache_args(data, out, *extra: str) -> list[str]:
    return ["cache", str(data), "-o", str(out), "--kind", "controlnet", "--preset", "tiny-t2v", "--height", "32",
            "--width", "32", "--max-frames", "5", "-q", *extra]


def test_cache_records_the_kind_and_the_trainer_refuses_a_mismatch(tmp_path):
    from vidstyle.training.cache import CachedDataset
    from vidstyle.training.controlnet_trainer import ControlSample

    command = typer.main.get_command(app)
    data = write_dataset(tmp_path / "data")
    assert run_cli(command, cache_args(data, tmp_path / "gray")) == 0
    assert run_cli(command, cache_args(data, tmp_path / "rgb", "--tile", "rgb")) == 0
    assert read_index(tmp_path / "gray")[1]["tile"] == "gray" and read_index(tmp_path / "rgb")[1]["tile"] == "rgb"
    gray, rgb = (CachedDataset(tmp_path / k, ControlSample, kind="controlnet")[0] for k in ("gray", "rgb"))
    assert torch.equal(gray.video, rgb.video) and not torch.equal(gray.control, rgb.control)
    assert run_cli(command, cache_args(data, tmp_path / "gray", "--tile", "rgb")) == 2  # no mixing in one cache

    def config(cache, **kw):
        return ControlNetTrainConfig(cache=cache, output_dir=tmp_path / f"out_{cache.name}", preset="tiny-t2v",
                                     max_steps=1, checkpoint_every=1, gradient_accumulation=1, **kw)

    with pytest.raises(VidstyleInputError, match="rgb tiles"):
        ControlNetTrainer(config(tmp_path / "rgb"))
    with pytest.raises(VidstyleInputError, match="gray tiles"):
        ControlNetTrainer(config(tmp_path / "gray", tile="rgb"))
    export = ControlNetTrainer(config(tmp_path / "rgb", tile="rgb")).train()
    transformer = build_tiny_components("t2v")["transformer"]
    assert WanTileControlNet.from_pretrained(export, transformer).config.tile == "rgb"

    ids, settings = read_index(tmp_path / "gray")  # a cache written before tile kinds: gray
    write_index(tmp_path / "gray", ids, {k: v for k, v in settings.items() if k != "tile"})
    ControlNetTrainer(config(tmp_path / "gray"))
    with pytest.raises(VidstyleInputError, match="gray tiles"):
        ControlNetTrainer(config(tmp_path / "gray", tile="rgb"))


def test_cli_bad_tile_exits_2(tmp_path, capsys):
    command = typer.main.get_command(app)
    data = write_dataset(tmp_path / "data")
    assert run_cli(command, cache_args(data, tmp_path / "c", "--tile", "sepia")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--tile" in err and "sepia" in err
    args = cache_args(data, tmp_path / "c", "--tile", "rgb")
    args[args.index("controlnet")] = "motion"
    assert run_cli(command, args) == 2
    assert not (tmp_path / "c").exists()


def test_motion_scale_lasts_one_call():
    """``motion_scale`` sets the motion LoRA's alpha for that call only; the saved alpha is back afterwards."""
    from vidstyle.adapters.motion_lora import MotionLoRAAdapter, MotionLoRAConfig

    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.set_progress_bar_config(disable=True)
    clip, tokenizer, processor = build_tiny_clip()
    motion = MotionLoRAAdapter(pipe.transformer, MotionLoRAConfig(rank=2, alpha=-0.3))
    pipe.set_stylemaster(StyleExtractor(StyleExtractorConfig(**EXTRACTOR), clip), processor, tokenizer,
                         motion_lora=motion)
    pipe("a cat", style_image=Image.new("RGB", (32, 32)), num_frames=1, height=32, width=32, num_inference_steps=1,
         motion_scale=1.0)
    assert motion.alpha == -0.3
