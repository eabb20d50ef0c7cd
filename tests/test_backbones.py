"""Presets, the offline tiny builder, loading options, and the working-size rules."""

from __future__ import annotations

import pytest
import torch

from vidstyle import DreamStylePipeline
from vidstyle.backbones import PRESETS, build_tiny_components, get_preset, load_pipeline, parse_device, parse_dtype
from vidstyle.errors import VidstyleInputError
from vidstyle.sizing import working_size


def test_released_presets_name_their_checkpoints():
    i2v = get_preset("wan2.1-i2v-14b-480p")
    assert i2v.kind == "i2v" and i2v.hub_id == "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
    assert i2v.transformer_config["in_channels"] == 36 and i2v.transformer_config["added_kv_proj_dim"] == 5120
    assert get_preset("wan2.1-i2v-14b-720p").height == 720
    assert get_preset("wan2.1-t2v-1.3b").transformer_config["num_layers"] == 30
    assert get_preset("wan2.1-t2v-14b").transformer_config["in_channels"] == 16
    assert {p.kind for p in PRESETS.values()} == {"i2v", "t2v"}
    with pytest.raises(VidstyleInputError, match="unknown preset"):
        get_preset("wan3")


def test_tiny_components_are_seeded_and_have_wan_shapes():
    a, b = build_tiny_components("i2v", seed=3), build_tiny_components("i2v", seed=3)
    for name in ("transformer", "vae", "text_encoder", "image_encoder"):
        for (key, x), (_, y) in zip(a[name].state_dict().items(), b[name].state_dict().items(), strict=True):
            assert torch.equal(x, y), (name, key)
    assert a["vae"].config.z_dim == 16 and a["transformer"].config.in_channels == 36
    t2v = build_tiny_components("t2v")
    assert "image_encoder" not in t2v and t2v["transformer"].config.in_channels == 16
    c = build_tiny_components("i2v", seed=4)
    assert not torch.equal(c["transformer"].proj_out.weight, a["transformer"].proj_out.weight)


def test_load_tiny_preset_in_bfloat16_keeps_vae_and_clip_in_float32():
    pipe, preset = load_pipeline(DreamStylePipeline, preset="tiny", dtype=torch.bfloat16)
    assert preset.name == "tiny"
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32 and pipe.image_encoder.dtype == torch.float32


def test_load_options_are_validated():
    with pytest.raises(VidstyleInputError, match="either a preset or a model"):
        load_pipeline(DreamStylePipeline, preset="tiny", model="x/y")
    with pytest.raises(VidstyleInputError, match="accelerator"):
        load_pipeline(DreamStylePipeline, preset="tiny", cpu_offload=True)
    pipe, _ = load_pipeline(DreamStylePipeline, preset="tiny", vae_tiling=True)
    assert pipe.vae.use_tiling


@pytest.mark.parametrize(("name", "dtype"), [("bf16", torch.bfloat16), ("float32", torch.float32),
                                             ("FP16", torch.float16)])
def test_parse_dtype(name, dtype):
    assert parse_dtype(name) == dtype


def test_parse_errors():
    with pytest.raises(VidstyleInputError):
        parse_dtype("int4")
    with pytest.raises(VidstyleInputError):
        parse_device("warp-drive")
    assert parse_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    ("src", "area", "given", "expected"),
    [
        ((29, 37), 64 * 64, (None, None), (64, 80)),
        ((480, 854), 480 * 832, (None, None), (480, 848)),
        ((1080, 1920), 480 * 832, (None, None), (480, 848)),
        ((100, 200), 64 * 64, (40, None), (48, 80)),
        ((100, 200), 64 * 64, (None, 100), (48, 96)),
        ((100, 200), 64 * 64, (50, 70), (48, 64)),
    ],
)
def test_working_size_rounds_to_16_and_keeps_aspect(src, area, given, expected):
    assert working_size(*src, area, *given) == expected


def test_working_size_rejects_out_of_range():
    with pytest.raises(VidstyleInputError):
        working_size(64, 64, 4096, 8, None)
    with pytest.raises(VidstyleInputError):
        working_size(64, 64, 4096, None, 5000)
