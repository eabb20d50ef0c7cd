"""Metric encoders loaded from the official weight layouts: CSD, FID Inception-v3, DINOv2 features (CPU, random).

The expected key names and shapes are generated here from the published architectures (OpenAI CLIP ``model.py``,
learn2phoenix/CSD ``CSD/model.py``, torchvision ``inception.py`` + pytorch-fid), not from the modules' own state dicts.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from torch import nn

from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.csd import CSDStyleEncoder, csd_score
from vidstyle.metrics.distribution import FeatureExtractor, fid_from_features
from vidstyle.metrics.features import DINOv2Features, dinov2_name
from vidstyle.metrics.inception import FIDInceptionV3
from vidstyle.metrics.weights import load_state_strict, read_state_dict

TINY_CSD = {"image_size": 28, "patch_size": 14, "width": 32, "layers": 2, "heads": 4, "output_dim": 16}


# ----------------------------------------------------------------------------------------------------------- layouts
def csd_layout(image_size=224, patch_size=14, width=1024, layers=24, output_dim=768, **_) -> dict[str, tuple]:
    """Key -> shape of CSD's ``checkpoint.pth`` ``model_state_dict`` (DDP ``module.`` prefix, no ``backbone.proj``)."""
    grid = image_size // patch_size
    w = width
    shapes = {
        "backbone.conv1.weight": (w, 3, patch_size, patch_size),
        "backbone.class_embedding": (w,),
        "backbone.positional_embedding": (grid * grid + 1, w),
        "backbone.ln_pre.weight": (w,),
        "backbone.ln_pre.bias": (w,),
    }
    for i in range(layers):
        block = f"backbone.transformer.resblocks.{i}"
        shapes |= {
            f"{block}.attn.in_proj_weight": (3 * w, w),
            f"{block}.attn.in_proj_bias": (3 * w,),
            f"{block}.attn.out_proj.weight": (w, w),
            f"{block}.attn.out_proj.bias": (w,),
            f"{block}.ln_1.weight": (w,),
            f"{block}.ln_1.bias": (w,),
            f"{block}.mlp.c_fc.weight": (4 * w, w),
            f"{block}.mlp.c_fc.bias": (4 * w,),
            f"{block}.mlp.c_proj.weight": (w, 4 * w),
            f"{block}.mlp.c_proj.bias": (w,),
            f"{block}.ln_2.weight": (w,),
            f"{block}.ln_2.bias": (w,),
        }
    shapes |= {
        "backbone.ln_post.weight": (w,),
        "backbone.ln_post.bias": (w,),
        "last_layer_style": (w, output_dim),
        "last_layer_content": (w, output_dim),
    }
    return {f"module.{k}": v for k, v in shapes.items()}


def inception_convs() -> list[tuple[str, int, int, int, int]]:
    """(name, in, out, kh, kw) of every BasicConv2d of torchvision's Inception3 without AuxLogits."""
    convs = [("Conv2d_1a_3x3", 3, 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3), ("Conv2d_2b_3x3", 32, 64, 3, 3),
             ("Conv2d_3b_1x1", 64, 80, 1, 1), ("Conv2d_4a_3x3", 80, 192, 3, 3)]
    for m, cin, pool in (("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)):
        convs += [(f"{m}.branch1x1", cin, 64, 1, 1), (f"{m}.branch5x5_1", cin, 48, 1, 1),
                  (f"{m}.branch5x5_2", 48, 64, 5, 5), (f"{m}.branch3x3dbl_1", cin, 64, 1, 1),
                  (f"{m}.branch3x3dbl_2", 64, 96, 3, 3), (f"{m}.branch3x3dbl_3", 96, 96, 3, 3),
                  (f"{m}.branch_pool", cin, pool, 1, 1)]
    convs += [("Mixed_6a.branch3x3", 288, 384, 3, 3), ("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1),
              ("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3), ("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3)]
    for m, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        convs += [(f"{m}.branch1x1", 768, 192, 1, 1), (f"{m}.branch7x7_1", 768, c7, 1, 1),
                  (f"{m}.branch7x7_2", c7, c7, 1, 7), (f"{m}.branch7x7_3", c7, 192, 7, 1),
                  (f"{m}.branch7x7dbl_1", 768, c7, 1, 1), (f"{m}.branch7x7dbl_2", c7, c7, 7, 1),
                  (f"{m}.branch7x7dbl_3", c7, c7, 1, 7), (f"{m}.branch7x7dbl_4", c7, c7, 7, 1),
                  (f"{m}.branch7x7dbl_5", c7, 192, 1, 7), (f"{m}.branch_pool", 768, 192, 1, 1)]
    convs += [("Mixed_7a.branch3x3_1", 768, 192, 1, 1), ("Mixed_7a.branch3x3_2", 192, 320, 3, 3),
              ("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1), ("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
              ("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1), ("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3)]
    for m, cin in (("Mixed_7b", 1280), ("Mixed_7c", 2048)):
        convs += [(f"{m}.branch1x1", cin, 320, 1, 1), (f"{m}.branch3x3_1", cin, 384, 1, 1),
                  (f"{m}.branch3x3_2a", 384, 384, 1, 3), (f"{m}.branch3x3_2b", 384, 384, 3, 1),
                  (f"{m}.branch3x3dbl_1", cin, 448, 1, 1), (f"{m}.branch3x3dbl_2", 448, 384, 3, 3),
                  (f"{m}.branch3x3dbl_3a", 384, 384, 1, 3), (f"{m}.branch3x3dbl_3b", 384, 384, 3, 1),
                  (f"{m}.branch_pool", cin, 192, 1, 1)]
    return convs


def inception_state(num_batches_tracked: bool = True) -> dict[str, torch.Tensor]:
    """A random state dict in the ``pt_inception-2015-12-05-6726825d.pth`` layout (He-scaled convs, unit BN)."""
    gen = torch.Generator().manual_seed(0)
    state = {}
    for name, cin, cout, kh, kw in inception_convs():
        state[f"{name}.conv.weight"] = torch.randn(cout, cin, kh, kw, generator=gen) * (2.0 / (cin * kh * kw)) ** 0.5
        state[f"{name}.bn.weight"] = 1 + 0.1 * torch.randn(cout, generator=gen)
        state[f"{name}.bn.bias"] = 0.1 * torch.randn(cout, generator=gen)
        state[f"{name}.bn.running_mean"] = 0.1 * torch.randn(cout, generator=gen)
        state[f"{name}.bn.running_var"] = 1 + torch.rand(cout, generator=gen)
        if num_batches_tracked:
            state[f"{name}.bn.num_batches_tracked"] = torch.tensor(0)
    state["fc.weight"] = 0.01 * torch.randn(1008, 2048, generator=gen)
    state["fc.bias"] = torch.zeros(1008)
    return state


def random_state(shapes: dict[str, tuple], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors for a layout; LayerNorm weights near 1."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        value = torch.randn(*shape, generator=gen)
        if ".ln_" in key and key.endswith(".weight"):
            value = 1 + 0.1 * value
        elif len(shape) >= 2:
            value = value * shape[-1] ** -0.5
        state[key] = value
    return state


def frames(seed: int, n: int = 2, h: int = 40, w: int = 52) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------------------------------------ weights
def test_read_state_dict_wrappers_and_errors(tmp_path) -> None:
    from safetensors.torch import save_file

    state = {"module.a": torch.ones(2), "module.b.c": torch.zeros(1)}
    torch.save({"model_state_dict": state, "iter": 3, "args": argparse.Namespace(arch="vit_large")}, tmp_path / "c.pth")
    got = read_state_dict(tmp_path / "c.pth", "X", wrapper_keys=("model_state_dict",), strip_prefix="module.",
                          allowed_globals=(argparse.Namespace,))
    assert sorted(got) == ["a", "b.c"]
    save_file({"a": torch.ones(2)}, tmp_path / "s.safetensors")
    assert torch.equal(read_state_dict(tmp_path / "s.safetensors", "X")["a"], torch.ones(2))
    with pytest.raises(VidstyleInputError, match="not found"):
        read_state_dict(tmp_path / "nope.pth", "X")
    with pytest.raises(VidstyleInputError, match="cannot read X") as err:  # Namespace not allowed
        read_state_dict(tmp_path / "c.pth", "X", wrapper_keys=("model_state_dict",))
    assert "\n" not in str(err.value)
    torch.save({"iter": 3, "weights": state}, tmp_path / "w.pth")
    with pytest.raises(VidstyleInputError, match="non-tensor entries"):
        read_state_dict(tmp_path / "w.pth", "X", wrapper_keys=("model_state_dict",))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(VidstyleInputError, match="cannot read"):
        read_state_dict(tmp_path / "junk.pth", "X")


def test_load_state_strict_messages() -> None:
    module = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    state = {k: torch.zeros_like(v) for k, v in module.state_dict().items()}
    load_state_strict(module, {k: v for k, v in state.items() if "num_batches" not in k}, "M",
                      optional=("num_batches_tracked",))
    with pytest.raises(VidstyleInputError, match=r"M weights: 1 missing keys \['0.bias'\]"):
        load_state_strict(module, {k: v for k, v in state.items() if k != "0.bias"}, "M")
    with pytest.raises(VidstyleInputError, match="unexpected keys") as err:
        load_state_strict(module, {**state, **{f"x{i}": torch.zeros(1) for i in range(9)}}, "M")
    assert "(+5 more)" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(VidstyleInputError, match=r"0.weight has shape \(3, 4\), expected \(4, 3\)"):
        load_state_strict(module, {**state, "0.weight": torch.zeros(3, 4)}, "M")


# ---------------------------------------------------------------------------------------------------------------- CSD
def test_csd_full_size_layout_on_meta() -> None:
    with torch.device("meta"):
        model = CSDStyleEncoder()
    got = {f"module.{k}": tuple(v.shape) for k, v in model.state_dict().items()}
    expected = csd_layout()
    assert got == expected
    assert len(expected) == 5 + 24 * 12 + 4
    assert expected["module.last_layer_style"] == (1024, 768)
    assert expected["module.backbone.positional_embedding"] == (257, 1024)


@pytest.fixture(scope="module")
def csd_checkpoint(tmp_path_factory):
    state = random_state(csd_layout(**TINY_CSD))
    path = tmp_path_factory.mktemp("csd") / "checkpoint.pth"
    torch.save({"model_state_dict": state, "opt_bb": {}, "iter": 7, "args": argparse.Namespace(arch="vit_large")},
               path)
    return path, state


def test_csd_loads_official_checkpoint(csd_checkpoint) -> None:
    path, state = csd_checkpoint
    model = CSDStyleEncoder.from_file(path, **TINY_CSD)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert torch.equal(model.last_layer_style, state["module.last_layer_style"])
    key = "backbone.transformer.resblocks.1.attn.in_proj_weight"
    assert torch.equal(model.get_parameter(key), state[f"module.{key}"])
    bare = {k.removeprefix("module."): v for k, v in state.items()}
    model.load_weights(bare)  # the same layout without the DDP prefix


def test_csd_strict_errors(csd_checkpoint, tmp_path) -> None:
    _, state = csd_checkpoint
    model = CSDStyleEncoder(**TINY_CSD)
    bare = {k.removeprefix("module."): v for k, v in state.items()}
    with pytest.raises(VidstyleInputError, match="missing keys.*last_layer_content"):
        model.load_weights({k: v for k, v in bare.items() if k != "last_layer_content"})
    with pytest.raises(VidstyleInputError, match="unexpected keys.*backbone.proj"):  # CLIP's own projection
        model.load_weights({**bare, "backbone.proj": torch.zeros(32, 16)})
    with pytest.raises(VidstyleInputError, match="positional_embedding has shape"):
        model.load_weights({**bare, "backbone.positional_embedding": torch.zeros(10, 32)})
    torch.save({"model_state_dict": state}, tmp_path / "big.pth")
    with pytest.raises(VidstyleInputError, match="CSD weights"):
        CSDStyleEncoder.from_file(tmp_path / "big.pth", **{**TINY_CSD, "output_dim": 8})


def test_csd_attention_matches_multihead_attention() -> None:
    torch.manual_seed(0)
    model = CSDStyleEncoder(**TINY_CSD)
    attn = model.backbone.transformer.resblocks[0].attn
    mha = nn.MultiheadAttention(32, 4, batch_first=True)
    mha.load_state_dict(attn.state_dict())  # same parameter names
    x = torch.randn(2, 5, 32)
    torch.testing.assert_close(attn(x), mha(x, x, x, need_weights=False)[0])


def test_csd_preprocess_and_scores(csd_checkpoint) -> None:
    model = CSDStyleEncoder.from_file(csd_checkpoint[0], **TINY_CSD)
    exact = frames(0, n=1, h=28, w=28)  # already 28 x 28: no resize, no crop
    pixels = model.preprocess(exact)
    mean, std = torch.tensor([0.48145466, 0.4578275, 0.40821073]), torch.tensor([0.26862954, 0.26130258, 0.27577711])
    expected = (torch.from_numpy(exact).permute(0, 3, 1, 2) / 255.0 - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    torch.testing.assert_close(pixels, expected)
    assert model.preprocess(frames(1, n=3, h=40, w=90)).shape == (3, 3, 28, 28)

    video, other = frames(2, n=3), frames(3, n=1, h=60, w=30)
    emb = model.embed(torch.from_numpy(video))
    assert emb.shape == (3, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    assert model.embed(video, head="content").shape == (3, 16)
    same = csd_score(model, video[:1], video[0])
    assert list(same) == ["csd@csd-vit-l14"]
    assert same["csd@csd-vit-l14"] == pytest.approx(1.0, abs=1e-5)
    assert csd_score(model, video[:1], other, name="t")["csd@t"] < same["csd@csd-vit-l14"] - 1e-4
    # several frames and references: mean over all (frame, reference) pairs
    refs = np.concatenate([video[:1], video[1:2]])
    pairs = (emb @ model.embed(refs).T).mean().item()
    assert csd_score(model, video, refs)["csd@csd-vit-l14"] == pytest.approx(pairs, abs=1e-6)
    with pytest.raises(VidstyleInputError, match="uint8"):
        model.embed(video.astype(np.float32))


# ---------------------------------------------------------------------------------------------------------- Inception
@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    path = tmp_path_factory.mktemp("fid") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(inception_state(), path)
    return FIDInceptionV3.from_file(path)


def test_inception_layout_and_strict_load(inception) -> None:
    layout = inception_convs()
    assert len(layout) == 94
    got = {k: tuple(v.shape) for k, v in inception.state_dict().items() if not k.endswith("num_batches_tracked")}
    expected = {k: tuple(v.shape) for k, v in inception_state(num_batches_tracked=False).items()}
    assert got == expected
    assert all(m.eps == 0.001 for m in inception.modules() if isinstance(m, nn.BatchNorm2d))
    inception.load_weights(inception_state(num_batches_tracked=False))  # older files without num_batches_tracked
    state = inception_state()
    with pytest.raises(VidstyleInputError, match="missing keys.*Mixed_6c.branch7x7_2.conv.weight"):
        inception.load_weights({k: v for k, v in state.items() if k != "Mixed_6c.branch7x7_2.conv.weight"})
    with pytest.raises(VidstyleInputError, match="unexpected keys.*AuxLogits"):
        inception.load_weights({**state, "AuxLogits.fc.weight": torch.zeros(1008, 768)})
    with pytest.raises(VidstyleInputError, match="fc.weight has shape"):
        inception.load_weights({**state, "fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)})
    inception.load_weights(state)


def test_inception_features_and_fid(inception) -> None:
    assert isinstance(inception, FeatureExtractor) and inception.name == "inception-v3"
    images = torch.rand(3, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = inception(images)
        again = inception(images)
    assert feats.shape == (3, 2048) and feats.dtype == torch.float32
    assert torch.isfinite(feats).all() and (feats >= 0).all()  # post-ReLU average pool
    assert fid_from_features(feats, again) == pytest.approx(0.0, abs=1e-6 * float(feats.square().sum()))
    assert fid_from_features(feats[:2], feats[1:]) > 0
    with pytest.raises(VidstyleInputError, match="Inception needs"):
        inception(torch.rand(3, 40, 48))


# ------------------------------------------------------------------------------------------------------------- DINOv2
def test_dinov2_features(tmp_path) -> None:
    from transformers import Dinov2Config, Dinov2Model

    assert dinov2_name(Dinov2Config()) == "dinov2-vitb14"  # the facebook/dinov2-base configuration
    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                          image_size=28, patch_size=14)
    extractor = DINOv2Features(Dinov2Model(config), resize=32, crop=28)
    assert isinstance(extractor, FeatureExtractor) and extractor.name == "dinov2-d32p14"
    images = torch.rand(3, 3, 36, 50)
    feats = extractor(images)
    assert feats.shape == (3, 32) and torch.isfinite(feats).all()
    assert extractor.preprocess(images).shape == (3, 3, 28, 28)
    assert fid_from_features(feats, extractor(images)) == pytest.approx(0.0, abs=1e-6)

    extractor.model.save_pretrained(tmp_path / "dino")
    loaded = DINOv2Features.from_pretrained(tmp_path / "dino", name="dinov2-tiny")
    assert loaded.name == "dinov2-tiny" and (loaded.resize, loaded.crop) == (256, 224)
    torch.testing.assert_close(loaded(images[:1]), DINOv2Features(extractor.model)(images[:1]))
    with pytest.raises(VidstyleInputError, match="cannot load a DINOv2 model"):
        DINOv2Features.from_pretrained(tmp_path / "missing")
