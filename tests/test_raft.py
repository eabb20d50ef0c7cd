"""RAFT flow backend: official checkpoint layout, strict loading, correlation lookup, padding, random-weight runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.raft import (
    RAFT,
    CorrPyramid,
    RAFTFlow,
    convex_upsample,
    crop_padding,
    load_raft_state,
    pad_to_multiple,
)

# Official parameter count of the full RAFT (torchvision's Raft_Large_Weights.C_T_V1 "num_params", a port of the
# princeton-vl checkpoints); it is re-derived from the layout table below in test_parameter_count.
OFFICIAL_NUM_PARAMS = 5_257_536


# ----------------------------------------------------------------- official layout (princeton-vl/RAFT core/*.py)


def _conv(name: str, cin: int, cout: int, kh: int, kw: int | None = None) -> dict[str, tuple[int, ...]]:
    return {f"{name}.weight": (cout, cin, kh, kw or kh), f"{name}.bias": (cout,)}


def _batchnorm(name: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{name}.{attr}": (c,) for attr in ("weight", "bias", "running_mean", "running_var")} | {
        f"{name}.num_batches_tracked": ()
    }


def _encoder(prefix: str, output_dim: int, batch_norm: bool) -> dict[str, tuple[int, ...]]:
    """extractor.py BasicEncoder: instance norm (fnet) keeps no state; batch norm (cnet) does."""
    table = _conv(f"{prefix}.conv1", 3, 64, 7) | _conv(f"{prefix}.conv2", 128, output_dim, 1)
    if batch_norm:
        table |= _batchnorm(f"{prefix}.norm1", 64)
    blocks = {1: [(64, 64), (64, 64)], 2: [(64, 96), (96, 96)], 3: [(96, 128), (128, 128)]}
    for layer, pairs in blocks.items():
        for index, (cin, cout) in enumerate(pairs):
            block = f"{prefix}.layer{layer}.{index}"
            table |= _conv(f"{block}.conv1", cin, cout, 3) | _conv(f"{block}.conv2", cout, cout, 3)
            if batch_norm:
                table |= _batchnorm(f"{block}.norm1", cout) | _batchnorm(f"{block}.norm2", cout)
            if layer > 1 and index == 0:  # stride 2: downsample = Sequential(conv1x1, norm3)
                table |= _conv(f"{block}.downsample.0", cin, cout, 1)
                if batch_norm:
                    table |= _batchnorm(f"{block}.norm3", cout) | _batchnorm(f"{block}.downsample.1", cout)
    return table


def _update_block() -> dict[str, tuple[int, ...]]:
    """update.py BasicUpdateBlock with corr_levels 4, radius 4 (324 planes), hidden 128, input 128 + 128."""
    u = "update_block"
    table = (
        _conv(f"{u}.encoder.convc1", 324, 256, 1)
        | _conv(f"{u}.encoder.convc2", 256, 192, 3)
        | _conv(f"{u}.encoder.convf1", 2, 128, 7)
        | _conv(f"{u}.encoder.convf2", 128, 64, 3)
        | _conv(f"{u}.encoder.conv", 64 + 192, 128 - 2, 3)
    )
    for gate in "zrq":
        table |= _conv(f"{u}.gru.conv{gate}1", 128 + 256, 128, 1, 5)  # SepConvGRU: 1x5 then 5x1
        table |= _conv(f"{u}.gru.conv{gate}2", 128 + 256, 128, 5, 1)
    table |= _conv(f"{u}.flow_head.conv1", 128, 256, 3) | _conv(f"{u}.flow_head.conv2", 256, 2, 3)
    return table | _conv(f"{u}.mask.0", 128, 256, 3) | _conv(f"{u}.mask.2", 256, 64 * 9, 1)


OFFICIAL_LAYOUT = _encoder("fnet", 256, False) | _encoder("cnet", 256, True) | _update_block()


def _official_state(prefix: str = "", seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors in the official layout; each norm3 / downsample.1 pair shares one tensor, as in the file."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in OFFICIAL_LAYOUT.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g) * 0.05
    for key in list(state):
        if ".downsample.1." in key:
            state[key] = state[key.replace(".downsample.1.", ".norm3.")]
    return {prefix + key: value for key, value in state.items()}


def _frames(h: int, w: int, n: int | None = None, shift: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random uint8 image and a copy shifted right by ``shift`` px ([H, W, 3] or [n, H, W, 3])."""
    rng = np.random.default_rng(seed)
    shape = (n or 1, h // 4 + 2, w // 4 + 2, 3)
    coarse = torch.from_numpy(rng.uniform(0, 255, shape).astype(np.float32)).permute(0, 3, 1, 2)
    big = F.interpolate(coarse, size=(h, w + shift), mode="bilinear", align_corners=False)
    big = big.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()
    a, b = big[:, :, shift:], big[:, :, :w]
    return (np.ascontiguousarray(a), np.ascontiguousarray(b)) if n else (a[0].copy(), b[0].copy())


@pytest.fixture(scope="module")
def random_raft() -> RAFT:
    torch.manual_seed(0)
    return RAFT().eval()


# ------------------------------------------------------------------------------------------ layout and loading


def test_parameter_count_and_layout_match_official(random_raft: RAFT) -> None:
    assert len(OFFICIAL_LAYOUT) == 179  # the number of tensors in raft-things.pth (without "module.")
    parameter_keys = [
        k for k in OFFICIAL_LAYOUT if k.endswith((".weight", ".bias")) and ".norm3." not in k  # norm3 aliases
    ]
    official = sum(int(np.prod(OFFICIAL_LAYOUT[k])) for k in parameter_keys)
    assert official == OFFICIAL_NUM_PARAMS
    assert sum(p.numel() for p in random_raft.parameters()) == OFFICIAL_NUM_PARAMS
    ours = {k: tuple(v.shape) for k, v in random_raft.state_dict().items()}
    assert ours == OFFICIAL_LAYOUT


@pytest.mark.parametrize("prefix", ["module.", ""])
def test_official_layout_loads_strictly_from_pth(tmp_path, prefix: str) -> None:
    state = _official_state(prefix)
    path = tmp_path / "raft-things.pth"
    torch.save(state, path)
    backend = RAFTFlow.from_file(path, iters=2)
    assert backend.name == "raft" and backend.iters == 2
    loaded = backend.model.state_dict()
    for key in ("fnet.conv1.weight", "cnet.layer2.0.downsample.1.running_var", "update_block.mask.2.bias"):
        torch.testing.assert_close(loaded[key], state[prefix + key])
    assert not backend.model.training


def test_safetensors_copy_without_aliases_or_counters_loads(tmp_path) -> None:
    from safetensors.torch import save_file

    state = {
        k: v.clone()
        for k, v in _official_state().items()
        if ".norm3." not in k and not k.endswith("num_batches_tracked")  # what a safetensors export keeps
    }
    path = tmp_path / "raft-things.safetensors"
    save_file(state, str(path))
    model = RAFTFlow.from_file(path, iters=1).model
    torch.testing.assert_close(model.cnet.layer3[0].norm3.weight, state["cnet.layer3.0.downsample.1.weight"])


def _one_line_error(state: dict[str, torch.Tensor], tmp_path) -> str:
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(VidstyleInputError) as info:
        RAFTFlow.from_file(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_key_is_a_one_line_input_error(tmp_path) -> None:
    state = _official_state("module.")
    del state["module.update_block.gru.convq2.weight"]
    message = _one_line_error(state, tmp_path)
    assert "missing keys" in message and "update_block.gru.convq2.weight" in message


def test_wrong_shape_is_a_one_line_input_error(tmp_path) -> None:
    state = _official_state()
    state["update_block.encoder.convc1.weight"] = torch.zeros(256, 196, 1, 1)  # RAFT-small's 3-radius corr planes
    message = _one_line_error(state, tmp_path)
    assert "update_block.encoder.convc1.weight" in message and "(256, 196, 1, 1)" in message


def test_unexpected_key_and_unreadable_file_are_input_errors(tmp_path) -> None:
    state = _official_state()
    state["extra.weight"] = torch.zeros(1)
    message = _one_line_error(state, tmp_path)
    assert "unexpected keys" in message and "extra.weight" in message
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(VidstyleInputError):
        RAFTFlow.from_file(junk)
    with pytest.raises(VidstyleInputError):
        RAFTFlow.from_file(tmp_path / "absent.pth")
    mixed = {("module." + k if "fnet" in k else k): v for k, v in _official_state().items()}
    with pytest.raises(VidstyleInputError):
        load_raft_state(RAFT(), mixed)


# ------------------------------------------------------------------------------------------ correlation, padding


def test_correlation_lookup_is_exact_on_a_constructed_volume() -> None:
    b, h, w = 1, 6, 20
    # target-plane value depends on the target pixel (y2, x2) and the source pixel (y1, x1)
    y1, x1, y2, x2 = torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in (h, w, h, w)), indexing="ij")
    volume = (100 * y2 + x2 + 0.001 * (y1 * w + x1))[None]
    pyramid = CorrPyramid(volume, levels=2, radius=4)
    coords = torch.zeros(b, 2, h, w)
    coords[:, 0], coords[:, 1] = 10.0, 2.0  # every source pixel looks at target (x=10, y=2)
    out = pyramid.lookup(coords)
    assert out.shape == (b, 2 * 81, h, w) and pyramid.channels == 162

    def at(level_channel: int, src_y: int = 3, src_x: int = 5) -> float:
        return out[0, level_channel, src_y, src_x].item()

    tag = 0.001 * (3 * w + 5)
    # RAFT's channel order: k = i * 9 + j samples (x + i - 4, y + j - 4)
    assert at(4 * 9 + 4) == pytest.approx(100 * 2 + 10 + tag)  # centre
    assert at(6 * 9 + 4) == pytest.approx(100 * 2 + 12 + tag)  # i = 6: x + 2
    assert at(4 * 9 + 5) == pytest.approx(100 * 3 + 10 + tag)  # j = 5: y + 1
    assert at(4 * 9 + 0) == 0.0  # y - 4 = -2 is outside: zero padding
    # level 1: 2x2 average pool of (100 y2 + x2) at pooled (u, v) is 100 (2v + 0.5) + (2u + 0.5); lookup at
    # (x / 2, y / 2) = (5, 1) + (i - 4, j - 4)
    assert at(81 + 4 * 9 + 4) == pytest.approx(100 * 2.5 + 10.5 + tag, rel=1e-6)
    assert at(81 + 4 * 9 + 0) == 0.0  # pooled y = 1 - 4 is outside
    # a half-pixel offset interpolates bilinearly (level 0 is linear in x2, y2)
    coords[:, 0], coords[:, 1] = 10.5, 2.25
    out = pyramid.lookup(coords)
    assert at(4 * 9 + 4) == pytest.approx(100 * 2.25 + 10.5 + tag, rel=1e-6)


def test_correlation_from_features_is_scaled_dot_product() -> None:
    g = torch.Generator().manual_seed(0)
    f1, f2 = torch.randn(1, 8, 4, 5, generator=g), torch.randn(1, 8, 4, 5, generator=g)
    pyramid = CorrPyramid.from_features(f1, f2, levels=1, radius=1)
    coords = torch.zeros(1, 2, 4, 5)
    coords[:, 0], coords[:, 1] = 2.0, 1.0
    centre = pyramid.lookup(coords)[0, 4]  # (i, j) = (1, 1): offset 0
    expected = (f1[0] * f2[0, :, 1, 2][:, None, None]).sum(0) / np.sqrt(8)
    torch.testing.assert_close(centre, expected)


@pytest.mark.parametrize("size", [(36, 52), (37, 50), (40, 64), (1, 9)])
def test_padding_round_trips(size: tuple[int, int]) -> None:
    x = torch.randn(2, 3, *size)
    padded, pads = pad_to_multiple(x)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    left, right, top, bottom = pads
    assert left <= right <= left + 1 and top <= bottom <= top + 1  # symmetric ("sintel" InputPadder)
    torch.testing.assert_close(crop_padding(padded, pads), x, rtol=0, atol=0)
    if top:
        torch.testing.assert_close(padded[..., 0, left:-right or None], x[..., 0, :])  # replicated edge row


def test_convex_upsampling_of_a_constant_flow() -> None:
    flow = torch.tensor([1.5, -0.5]).view(1, 2, 1, 1).expand(1, 2, 4, 5)
    up = convex_upsample(flow, torch.zeros(1, 576, 4, 5))  # uniform weights over the 3x3 neighbours
    assert up.shape == (1, 2, 32, 40)
    torch.testing.assert_close(up[0, :, 8:24, 8:32], 8 * flow[0, :, :1, :1].expand(2, 16, 24))


# ------------------------------------------------------------------------------------------- random-weight runs


def test_random_weight_flow_on_odd_size(random_raft: RAFT) -> None:
    a, b = _frames(36, 52)
    two = RAFTFlow(random_raft, iters=2).flow(a, b)
    assert two.shape == (36, 52, 2) and two.dtype == np.float32 and np.isfinite(two).all()
    three = RAFTFlow(random_raft, iters=3).flow(a, b)
    assert np.isfinite(three).all() and not np.allclose(two, three)


def test_flow_batch_matches_single_pairs(random_raft: RAFT) -> None:
    a, b = _frames(24, 40, n=3, seed=1)
    backend = RAFTFlow(random_raft, iters=2, batch_size=2)
    batch = backend.flow_batch(a, b)
    assert batch.shape == (3, 24, 40, 2) and batch.dtype == np.float32
    for i in range(3):
        np.testing.assert_allclose(batch[i], backend.flow(a[i], b[i]), atol=1e-4)


def test_bad_frames_and_options_are_input_errors(random_raft: RAFT) -> None:
    backend = RAFTFlow(random_raft, iters=1)
    a, b = _frames(16, 16)
    with pytest.raises(VidstyleInputError):
        backend.flow(a, b[:8])
    with pytest.raises(VidstyleInputError):
        backend.flow(a.astype(np.float32), b)
    with pytest.raises(VidstyleInputError):
        backend.flow_batch(a, b)
    with pytest.raises(VidstyleInputError):
        RAFTFlow(random_raft, iters=0)
