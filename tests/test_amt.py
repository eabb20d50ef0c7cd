"""AMT-S interpolator: official checkpoint layout, strict loading, and inference with random weights (CPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.amt import AMTS, AMTInterpolator, _padding
from vidstyle.metrics.motion import motion_smoothness

Shapes = dict[str, tuple[int, ...]]

# Official AMT-S parameter count (networks/AMT-S.py with cfgs/AMT-S.yaml), computed from the table below; about 60% of
# IFRNet-B's parameters, as the AMT docs state.
AMT_S_PARAMS = 2_990_543


def _conv(name: str, cin: int, cout: int, k: int) -> Shapes:
    return {f"{name}.weight": (cout, cin, k, k), f"{name}.bias": (cout,)}


def _conv_t(name: str, cin: int, cout: int, k: int) -> Shapes:  # ConvTranspose2d stores [in, out, k, k]
    return {f"{name}.weight": (cin, cout, k, k), f"{name}.bias": (cout,)}


def _convrelu(name: str, cin: int, cout: int, k: int = 3) -> Shapes:  # Sequential(Conv2d, PReLU(cout))
    return {**_conv(f"{name}.0", cin, cout, k), f"{name}.1.weight": (cout,)}


def _resblock(name: str, ch: int, side: int = 20) -> Shapes:
    return {
        **_convrelu(f"{name}.conv1", ch, ch),
        **_convrelu(f"{name}.conv2", side, side),
        **_convrelu(f"{name}.conv3", ch, ch),
        **_convrelu(f"{name}.conv4", side, side),
        **_conv(f"{name}.conv5", ch, ch, 3),
        f"{name}.prelu.weight": (ch,),
    }


def _bottleneck(name: str, cin: int, planes: int, stride: int) -> Shapes:  # instance norms carry no parameters
    table = {
        **_conv(f"{name}.conv1", cin, planes // 4, 1),
        **_conv(f"{name}.conv2", planes // 4, planes // 4, 3),
        **_conv(f"{name}.conv3", planes // 4, planes, 1),
    }
    if stride != 1:
        table.update(_conv(f"{name}.downsample.0", cin, planes, 1))
    return table


def _decoder(name: str, cin: int, cout: int) -> Shapes:  # Sequential(convrelu, ResBlock, ConvTranspose2d(4, 2, 1))
    return {**_convrelu(f"{name}.convblock.0", cin, cout), **_resblock(f"{name}.convblock.1", cout)}


def _update(name: str, cdim: int) -> Shapes:  # SmallUpdateBlock(hidden 76, flow 20, corr 64, fc 68, 4 levels, r 3)
    return {
        **_conv(f"{name}.convc1", 2 * 4 * 7 * 7, 64, 1),
        **_conv(f"{name}.convf1", 4, 40, 7),
        **_conv(f"{name}.convf2", 40, 20, 3),
        **_conv(f"{name}.conv", 64 + 20, 68, 3),
        **_conv(f"{name}.gru.0", 68 + 4 + cdim, 76, 3),
        **_conv(f"{name}.gru.2", 76, 76, 3),
        **_conv(f"{name}.feat_head.0", 76, 76, 3),
        **_conv(f"{name}.feat_head.2", 76, cdim, 3),
        **_conv(f"{name}.flow_head.0", 76, 76, 3),
        **_conv(f"{name}.flow_head.2", 76, 4, 3),
    }


def official_amt_s_shapes() -> Shapes:
    """Parameter names and shapes of the official AMT-S ``Model`` (channels 20/32/44/56, skip 20, 3 flow pairs)."""
    t: Shapes = {**_conv("feat_encoder.conv1", 3, 32, 7)}  # SmallEncoder(output_dim=84, norm_fn="instance")
    for layer, (cin, planes, stride) in enumerate([(32, 32, 1), (32, 64, 2), (64, 96, 2)], 1):
        t.update(_bottleneck(f"feat_encoder.layer{layer}.0", cin, planes, stride))
        t.update(_bottleneck(f"feat_encoder.layer{layer}.1", planes, planes, 1))
    t.update(_conv("feat_encoder.conv2", 96, 84, 1))
    prev = 3
    for idx, ch in enumerate([20, 32, 44, 56], 1):  # Encoder: convrelu stride 2, convrelu
        t.update(_convrelu(f"encoder.pyramid{idx}.0", prev, ch))
        t.update(_convrelu(f"encoder.pyramid{idx}.1", ch, ch))
        prev = ch
    t.update(_convrelu("decoder4.convblock.0", 2 * 56 + 1, 2 * 56))  # InitDecoder(56, 44, 20)
    t.update(_resblock("decoder4.convblock.1", 2 * 56))
    t.update(_conv_t("decoder4.convblock.2", 2 * 56, 44 + 4, 4))
    for name, cin, cout in [("decoder3", 44, 32), ("decoder2", 32, 20)]:  # IntermediateDecoder(cin, cout, 20)
        t.update(_convrelu(f"{name}.convblock.0", 3 * cin + 4, 3 * cin))
        t.update(_resblock(f"{name}.convblock.1", 3 * cin))
        t.update(_conv_t(f"{name}.convblock.2", 3 * cin, cout + 4, 4))
    t.update(_convrelu("decoder1.convblock.0", 3 * 20 + 4, 3 * 20))  # MultiFlowDecoder(20, 20, num_flows=3)
    t.update(_resblock("decoder1.convblock.1", 3 * 20))
    t.update(_conv_t("decoder1.convblock.2", 3 * 20, 8 * 3, 4))
    for name, cdim in [("update4", 44), ("update3", 32), ("update2", 20)]:
        t.update(_update(name, cdim))
    t.update(_conv("comb_block.0", 9, 18, 3))
    t["comb_block.1.weight"] = (18,)
    t.update(_conv("comb_block.2", 18, 3, 3))
    return t


def _random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * 0.05 for k, shape in official_amt_s_shapes().items()}


def test_parameter_count_matches_official() -> None:
    table = official_amt_s_shapes()
    total = sum(math.prod(shape) for shape in table.values())
    assert total == AMT_S_PARAMS  # 2.99 M
    model = AMTS()
    assert sum(p.numel() for p in model.parameters()) == total
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == table


@pytest.mark.parametrize("layout", ["checkpoint", "ddp", "safetensors"])
def test_loads_official_layout_strictly(tmp_path, layout: str) -> None:
    state = _random_state()
    path = tmp_path / ("amt-s.safetensors" if layout == "safetensors" else "amt-s.pth")
    if layout == "checkpoint":  # as released: OrderedDict(epoch=..., state_dict=...)
        torch.save({"epoch": 299, "state_dict": state}, path)
    elif layout == "ddp":  # a bare state dict saved from a DistributedDataParallel wrapper
        torch.save({f"module.{k}": v for k, v in state.items()}, path)
    else:  # the same tensors converted to safetensors
        from safetensors.torch import save_file

        save_file(state, str(path))
    interp = AMTInterpolator.from_file(path)
    assert interp.name == "amt-s"
    loaded = interp.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_bad_weights_raise_one_line(tmp_path) -> None:
    state = _random_state()
    missing = dict(state)
    del missing["update3.convc1.weight"]
    torch.save({"state_dict": missing}, tmp_path / "missing.pth")
    wrong = dict(state)
    wrong["comb_block.0.weight"] = torch.zeros(18, 9, 5, 5)
    torch.save({"state_dict": wrong}, tmp_path / "wrong.pth")
    for name, needle in [("missing.pth", "update3.convc1.weight"), ("wrong.pth", "comb_block.0.weight")]:
        with pytest.raises(VidstyleInputError) as err:
            AMTInterpolator.from_file(tmp_path / name)
        assert needle in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(VidstyleInputError):
        AMTInterpolator.from_file(tmp_path / "absent.pth")


def test_padding_is_vbench_input_padder_above_128() -> None:
    assert _padding(256, 448) == (0, 0, 0, 0)
    assert _padding(130, 150) == (5, 5, 7, 7)  # next multiple of 16, centred (left, right, top, bottom)
    assert _padding(36, 52) == (38, 38, 46, 46)  # small frames: up to 128 px per side


def test_interpolate_odd_size_random_weights() -> None:
    torch.manual_seed(0)
    interp = AMTInterpolator(AMTS())
    raw = []
    interp.model.register_forward_hook(lambda _m, _i, out: raw.append(out))
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (36, 52, 3), dtype=np.uint8)
    b = np.roll(a, 3, axis=1)
    out = interp.interpolate(a, b)
    assert out.shape == (36, 52, 3) and out.dtype == np.uint8
    assert raw[0].shape == (1, 3, 128, 128) and torch.isfinite(raw[0]).all()
    with pytest.raises(ValueError):
        interp.interpolate(a, b[:, :-1])
    with pytest.raises(ValueError):
        interp.interpolate(a.astype(np.float32), b)


def test_motion_smoothness_with_amt() -> None:
    torch.manual_seed(1)
    frames = np.random.default_rng(1).integers(0, 256, (5, 36, 52, 3), dtype=np.uint8)
    out = motion_smoothness(frames, AMTInterpolator(AMTS()))
    assert list(out) == ["motion_smoothness@amt-s"] and 0.0 <= out["motion_smoothness@amt-s"] <= 1.0
