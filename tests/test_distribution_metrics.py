"""Fréchet distance / ArtFID / LPIPS network tests (CPU, random weights)."""

from __future__ import annotations

import pytest
import torch

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.distribution import (
    FeatureExtractor,
    art_fid,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    labelled,
)
from vidstyle.metrics.lpips import LPIPS, TAP_CHANNELS, AlexNetTrunk

TRUNK_SHAPES = {
    "features.0": (64, 3, 11, 11),
    "features.3": (192, 64, 5, 5),
    "features.6": (384, 192, 3, 3),
    "features.8": (256, 384, 3, 3),
    "features.10": (256, 256, 3, 3),
}


def _trunk_state() -> dict[str, torch.Tensor]:
    state = {}
    for name, shape in TRUNK_SHAPES.items():
        state[f"{name}.weight"] = torch.randn(shape) * 0.05
        state[f"{name}.bias"] = torch.randn(shape[0]) * 0.01
    return state


def _heads_state() -> dict[str, torch.Tensor]:
    return {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(TAP_CHANNELS)}


def test_identical_stats_zero() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(64, 16, generator=g, dtype=torch.float64)
    sigma = a.T @ a / 63
    mu = torch.randn(16, generator=g, dtype=torch.float64)
    assert frechet_distance(mu, sigma, mu, sigma) < 1e-6


def test_diagonal_closed_form() -> None:
    g = torch.Generator().manual_seed(1)
    d = torch.randn(8, generator=g, dtype=torch.float64)
    a = torch.rand(8, generator=g, dtype=torch.float64) + 0.1
    b = torch.rand(8, generator=g, dtype=torch.float64) + 0.1
    expected = float(d.square().sum() + (a + b - 2 * (a * b).sqrt()).sum())
    got = frechet_distance(d, torch.diag(a), torch.zeros(8, dtype=torch.float64), torch.diag(b))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_numpy_inputs_and_singular_covariance() -> None:
    sigma = torch.zeros(4, 4, dtype=torch.float64)
    sigma[0, 0] = 1.0
    assert frechet_distance(sigma[0].numpy(), sigma.numpy(), sigma[0].numpy(), sigma.numpy()) < 1e-6


def test_fid_of_samples() -> None:
    g = torch.Generator().manual_seed(2)
    dim, n = 4, 20000
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0])
    a, b, c = (torch.randn(n, dim, generator=g) for _ in range(3))
    assert fid_from_features(a, b) < 0.01
    assert fid_from_features(a, c + shift) == pytest.approx(float(shift.square().sum()), rel=0.02)


def test_feature_statistics() -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    mu, sigma = feature_statistics(x)
    assert torch.allclose(mu, torch.tensor([2.0, 4.0], dtype=torch.float64))
    assert torch.allclose(sigma, torch.tensor([[2.0, 4.0], [4.0, 8.0]], dtype=torch.float64))
    with pytest.raises(ValueError):
        feature_statistics(torch.zeros(1, 3))


def test_art_fid_and_label() -> None:
    assert art_fid(10.0, 0.5) == pytest.approx(16.5)
    assert art_fid(0.0, 0.0) == 1.0
    row = labelled("inception-v3", "fid", 3.0)
    assert row == {"metric": "fid@inception-v3", "extractor": "inception-v3", "value": 3.0}

    class Dummy:
        name = "dummy"

        def __call__(self, images: torch.Tensor) -> torch.Tensor:
            return images.mean(dim=(2, 3))

    assert isinstance(Dummy(), FeatureExtractor)


def test_trunk_tap_channels() -> None:
    taps = AlexNetTrunk()(torch.randn(2, 3, 64, 64))
    assert [t.shape[1] for t in taps] == [64, 192, 384, 256, 256]
    assert sorted(k for k in AlexNetTrunk().state_dict()) == sorted(_trunk_state())


def test_lpips_random_weights() -> None:
    torch.manual_seed(0)
    model = LPIPS().eval()
    x, y = torch.rand(2, 2, 3, 64, 64)
    with torch.no_grad():
        same, xy, yx = model(x, x), model(x, y), model(y, x)
    assert same.shape == (2,)
    assert torch.equal(same, torch.zeros(2))
    assert (xy > 0).all()
    assert torch.equal(xy, yx)


def test_lpips_loads_official_layouts(tmp_path) -> None:
    from safetensors.torch import save_file

    trunk, heads = _trunk_state(), _heads_state()
    save_file(trunk, tmp_path / "alexnet.safetensors")
    torch.save(heads, tmp_path / "alex.pth")
    model = LPIPS.from_files(tmp_path / "alexnet.safetensors", tmp_path / "alex.pth")
    assert torch.equal(model.trunk.features[3].weight, trunk["features.3.weight"])
    assert torch.equal(model.lin4.model[1].weight, heads["lin4.model.1.weight"])
    # official combined names for the trunk, and torchvision's classifier keys ignored
    model.load_trunk({f"net.slice{s}.{k.removeprefix('features.')}": v for s, (k, v) in enumerate(trunk.items())})
    model.load_trunk({**trunk, "classifier.1.weight": torch.zeros(1)})
    x, y = torch.rand(2, 1, 3, 64, 64)
    assert model(x, y).item() > 0


def test_lpips_strict_loading_errors(tmp_path) -> None:
    model = LPIPS()
    heads = _heads_state()
    with pytest.raises(VidstyleInputError, match="missing"):
        model.load_heads({k: v for k, v in heads.items() if k != "lin2.model.1.weight"})
    with pytest.raises(VidstyleInputError, match="shape"):
        model.load_heads({**heads, "lin0.model.1.weight": torch.rand(1, 63, 1, 1)})
    with pytest.raises(VidstyleInputError, match="unexpected"):
        model.load_heads({**heads, "lin5.model.1.weight": torch.rand(1, 8, 1, 1)})
    trunk = _trunk_state()
    trunk["features.6.weight"] = torch.rand(384, 192, 5, 5)
    with pytest.raises(VidstyleInputError, match="features.6.weight"):
        model.load_trunk(trunk)
    with pytest.raises(VidstyleInputError, match="not found"):
        LPIPS.from_files(tmp_path / "nope.pt", tmp_path / "nope2.pt")
