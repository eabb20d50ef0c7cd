"""Visual anagrams: exact orthogonal views, the multi-view sampler, the IF loader, and `vidstyle data anagrams`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from diffusers import DDPMScheduler, IFPipeline
from PIL import Image

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.anagrams.sampler import sample_anagram
from vidstyle.data.anagrams.stage1 import load_stage1
from vidstyle.data.anagrams.tiny import build_tiny_stage1, tiny_unet
from vidstyle.data.anagrams.views import VIEW_NAMES, make_view, parse_views
from vidstyle.data.manifest import read_manifest
from vidstyle.errors import VidstyleInputError
from vidstyle.training.projection_trainer import TripletSource

COMMAND = typer.main.get_command(app)
SPECS = ["identity", "flip", "rotate_90", "rotate_180", "rotate_270", "jigsaw", "jigsaw:2", "patch_permute:4",
         "pixel_permute"]
assert {s.partition(":")[0] for s in SPECS} == set(VIEW_NAMES)


def cli(*args: object) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


# ----------------------------------------------------------------------------------------------------- views


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("channels", [3, 6])
def test_inverse_is_bit_exact(spec, channels):
    view = make_view(spec, seed=3)
    x = torch.randn(2, channels, 32, 32, generator=torch.Generator().manual_seed(0))
    shown = view.view(x)
    assert shown.shape == x.shape
    assert torch.equal(view.inverse(shown), x)
    assert torch.equal(view.view(view.inverse(x)), x)
    if spec != "identity":
        assert not torch.equal(shown, x)
    assert torch.equal(view.view(x[:, :1]), shown[:, :1])  # channel-agnostic: variance channels move alike


def _ks_statistic(values: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance between the empirical law of ``values`` and N(0, 1)."""
    v = values.double().flatten().sort().values
    n = v.numel()
    cdf = 0.5 * (1 + torch.erf(v / math.sqrt(2)))
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n
    return float(torch.maximum(steps - cdf, cdf - (steps - 1 / n)).max())


def _neighbour_correlation(x: torch.Tensor) -> float:
    """Correlation of horizontally adjacent pixels of ``[B, C, H, W]``."""
    a, b = x[..., :, :-1].flatten().double(), x[..., :, 1:].flatten().double()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


@pytest.mark.parametrize("spec", SPECS)
def test_views_keep_gaussian_noise_gaussian(spec):
    view = make_view(spec, seed=1)
    noise = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    shown = view.view(noise)
    # the same multiset of values (hence mean, std and histogram) in every image and channel ...
    assert torch.equal(shown.flatten(-2).sort(-1).values, noise.flatten(-2).sort(-1).values)
    ks_in, ks_out = _ks_statistic(noise), _ks_statistic(shown)
    assert ks_out == ks_in and ks_out < 1.63 / math.sqrt(noise.numel())  # KS at the 1% level
    # ... and still independent from pixel to pixel (a permutation of independent values)
    assert abs(_neighbour_correlation(shown)) < 4 / math.sqrt(noise.numel())


@pytest.mark.parametrize("spec", SPECS)
def test_views_are_orthogonal(spec):
    view = make_view(spec, seed=2)
    basis = torch.eye(64).view(64, 1, 8, 8)  # every one-pixel image of 8x8
    matrix = view.view(basis).flatten(1)  # column j: where pixel j goes
    assert torch.equal(matrix @ matrix.T, torch.eye(64))  # a permutation matrix: orthogonal
    x = torch.randn(3, 5, 8, 8, dtype=torch.float64)
    assert torch.allclose(view.view(x).flatten(1).norm(dim=1), x.flatten(1).norm(dim=1), rtol=0, atol=1e-12)


def test_views_refuse_sizes_they_cannot_act_on():
    for spec in ("rotate_90", "rotate_270", "jigsaw"):
        with pytest.raises(VidstyleInputError, match="square"):
            make_view(spec).view(torch.zeros(1, 3, 32, 48))
    assert make_view("rotate_180").view(torch.zeros(1, 3, 32, 48)).shape == (1, 3, 32, 48)
    with pytest.raises(VidstyleInputError, match="multiple of 5"):
        parse_views("identity,jigsaw:5", size=(32, 32))
    with pytest.raises(VidstyleInputError, match="8x8 patches"):
        parse_views("identity,patch_permute:8", size=(30, 30))
    with pytest.raises(VidstyleInputError, match="unknown view 'spin'"):
        parse_views("identity,spin")
    with pytest.raises(VidstyleInputError, match="given twice"):
        parse_views("flip,flip")
    with pytest.raises(VidstyleInputError, match="takes no parameter"):
        parse_views("flip:2")


def test_jigsaw_keeps_piece_kinds_and_turns_border_pieces_outward():
    view = make_view("jigsaw:4", seed=0)
    x = torch.zeros(1, 1, 16, 16)
    x[..., 0, :] = 1  # the top border line of the image
    shown = view.view(x)[0, 0]
    border = torch.ones(16, 16, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    assert shown[~border].sum() == 0 and shown.sum() == 16  # the border stays on the border


# --------------------------------------------------------------------------------------------------- sampler


class StubUNet(torch.nn.Module):
    """Returns the input as the noise and a fixed position-dependent pattern as the variance channels."""

    def __init__(self, pattern: torch.Tensor) -> None:
        super().__init__()
        self.pattern = pattern  # [1, C, H, W]
        self.config = type("Config", (), {"in_channels": pattern.shape[1]})()
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.anchor.dtype

    def forward(self, sample, timestep, encoder_hidden_states, return_dict=False):
        return (torch.cat([sample, self.pattern.expand_as(sample)], dim=1),)


def test_sampler_inverts_noise_and_variance_channels_before_averaging(monkeypatch):
    pattern = torch.linspace(-1, 1, 3 * 8 * 8).view(1, 3, 8, 8)  # learned_range variance lives in [-1, 1]
    views = parse_views("identity,rotate_90,patch_permute:4")
    scheduler = DDPMScheduler(variance_type="learned_range")
    seen = []
    real_step = scheduler.step

    def spy(model_output, t, sample, **kwargs):
        seen.append((model_output.clone(), sample.clone()))
        return real_step(model_output, t, sample, **kwargs)

    monkeypatch.setattr(scheduler, "step", spy)
    embeds = torch.zeros(3, 4, 2)
    sample_anagram(StubUNet(pattern), scheduler, views, embeds, embeds[:1], height=8, steps=2, guidance_scale=7.0,
                   generator=torch.Generator().manual_seed(0))
    expected_variance = torch.stack([v.inverse(pattern) for v in views]).mean(0)
    for model_output, sample in seen:
        assert torch.allclose(model_output[:, :3], sample)  # every view's noise estimate turned back, then averaged
        assert torch.allclose(model_output[:, 3:], expected_variance)


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_stage1(seed=0)


def test_sampler_runs_the_unet_once_per_step_on_all_views(tiny):
    unet = tiny_unet()
    assert unet.config.out_channels == 2 * unet.config.in_channels
    scheduler = DDPMScheduler(variance_type="learned_range")
    views = parse_views("identity,rotate_180")
    batches = []
    unet.register_forward_hook(lambda module, args, output: batches.append(args[0].shape[0]))
    prompts = tiny.encode(["a watercolor of a dog", "a watercolor of a cat"])
    result = sample_anagram(unet, scheduler, views, prompts, tiny.encode([""]), height=16, steps=3,
                            guidance_scale=5.0, generator=torch.Generator().manual_seed(0))
    assert batches == [2 * len(views)] * 3  # one call per step, batch = views x (uncond, cond)
    assert result.image.shape == (1, 3, 16, 16) and result.views.shape == (2, 3, 16, 16)
    assert torch.isfinite(result.image).all()
    for i, view in enumerate(views):
        assert torch.equal(result.views[i], view.view(result.image)[0])
    again = sample_anagram(unet, scheduler, views, prompts, tiny.encode([""]), height=16, steps=3,
                           guidance_scale=5.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.image, result.image)  # the generator fixes the sample


@pytest.fixture(scope="module")
def if_dir(tmp_path_factory, tiny):
    """The tiny model saved in the diffusers IFPipeline layout (as DeepFloyd/IF-I-M-v1.0 is)."""
    folder = tmp_path_factory.mktemp("if_tiny")
    IFPipeline(tokenizer=tiny.tokenizer, text_encoder=tiny.text_encoder, unet=tiny.unet, scheduler=tiny.scheduler,
               safety_checker=None, feature_extractor=None, watermarker=None,
               requires_safety_checker=False).save_pretrained(folder)
    return folder


def test_loader_reads_an_if_pipeline_directory(if_dir, tiny):
    loaded = load_stage1(str(if_dir))
    assert not loaded.random_weights and loaded.scheduler.config.variance_type == "learned_range"
    assert torch.equal(loaded.encode(["an ink drawing of a cat"]), tiny.encode(["an ink drawing of a cat"]))
    for name, weight in tiny.unet.state_dict().items():
        assert torch.equal(loaded.unet.state_dict()[name], weight)
    with pytest.raises(VidstyleInputError, match="no model_index.json"):
        load_stage1(str(if_dir / "unet"))


# ------------------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def lists(tmp_path):
    styles, objects = tmp_path / "styles.txt", tmp_path / "objects.txt"
    styles.write_text("oil painting\n# a comment\n\nwatercolor\n")
    objects.write_text("a dog\na cat\na house\n")
    return styles, objects


def _args(lists, out, *extra, **options: str | None):
    """The command line; ``options`` (``views="flip"``, ``preset=None`` to drop one) change the defaults."""
    chosen = {"styles": lists[0], "objects": lists[1], "preset": "tiny", "steps": "2", "size": "32",
              "views": "identity,rotate_180", **options}
    flags = [item for key, value in chosen.items() if value is not None for item in (f"--{key}", value)]
    return ["data", "anagrams", "-o", out, *flags, "-q", *extra]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cli_writes_a_dataset_the_projection_trainer_accepts(tmp_path, lists, capsys):
    out = tmp_path / "anagrams"
    assert cli(*_args(lists, out, "--pairs", "3")) == 0
    assert "random" in capsys.readouterr().err
    records = read_manifest(out, on_error="stop").records
    assert len(records) == 6 and len({r.style_id for r in records}) == 2
    for pair in range(3):
        first, second = (r for r in records if r.id.startswith(f"p{pair:05d}-"))
        assert first.style_id == second.style_id and first.t_ns != second.t_ns  # same style, other content
        assert first.t_sty.endswith(f"of {first.t_ns}") and first.raw != first.style_refs[0]
        img0, img1 = (np.asarray(Image.open(out / r.style_refs[0])) for r in (first, second))
        assert img0.shape == (32, 32, 3) and np.array_equal(img1, np.rot90(img0, 2))  # two views of one image
    source = TripletSource(out, size=32)
    assert sorted(source.styled) == ["oil_painting", "watercolor"]
    anchor, positive, negative = source.triplet(torch.Generator().manual_seed(0))
    assert anchor.size == positive.size == negative.size == (32, 32)
    assert not list(out.rglob("*.tmp"))


def test_cli_resumes_and_extends_to_the_same_images(tmp_path, lists, monkeypatch):
    import vidstyle.data.anagrams.builder as builder

    full = tmp_path / "full"
    assert cli(*_args(lists, full, "--pairs", "3")) == 0
    real_save, saved = builder.save_image, []

    def dies_in_second_pair(image, path):
        if "p00001" in str(path):
            raise KeyboardInterrupt
        saved.append(path)
        real_save(image, path)

    part = tmp_path / "part"
    monkeypatch.setattr(builder, "save_image", dies_in_second_pair)
    assert cli(*_args(lists, part, "--pairs", "2")) == 130
    assert [r.id for r in read_manifest(part, on_error="stop").records] == ["p00000-v0-identity",
                                                                            "p00000-v1-rotate_180"]
    monkeypatch.setattr(builder, "save_image", real_save)
    assert cli(*_args(lists, part, "--pairs", "3")) == 0  # resumes pair 1 and extends to 3 pairs
    assert _files(part) == _files(full)
    monkeypatch.setattr(builder, "sample_anagram", lambda *a, **k: pytest.fail("finished pairs are skipped"))
    assert cli(*_args(lists, part, "--pairs", "3")) == 0
    assert _files(part) == _files(full)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"styles": "missing.txt"}, "styles file not found"),
        ({"objects": "empty.txt"}, "has no entries"),
        ({"styles": "one.txt"}, "at least two"),
        ({"views": "identity,twirl"}, "unknown view 'twirl'"),
        ({"views": "identity,jigsaw:3"}, "multiple of 3"),
        ({"views": "identity,patch_permute:5"}, "5x5 patches"),
        ({"views": "identity,flip,rotate_90,rotate_180"}, "at least 4 different objects"),
        ({"preset": "huge"}, "unknown preset"),
        ({"model": "tiny"}, "either --model or --preset"),
        ({"preset": None, "model": "./no/such/model"}, "model directory not found"),
        ({"dtype": "int8"}, "unknown dtype"),
        ({"size": "31"}, "multiple of 2"),
    ],
)
def test_cli_bad_inputs_exit_2_and_write_nothing(tmp_path, lists, capsys, options, message):
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    (tmp_path / "one.txt").write_text("ink\n")
    options = {k: str(tmp_path / v) if v and v.endswith(".txt") else v for k, v in options.items()}
    assert cli(*_args(lists, tmp_path / "out", "--pairs", "1", **options)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidstyle: error:") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_folder_of_other_settings(tmp_path, lists, capsys):
    out = tmp_path / "out"
    assert cli(*_args(lists, out, "--pairs", "1")) == 0
    before = _files(out)
    assert cli(*_args(lists, out, "--pairs", "1", "--seed", "5")) == 2
    assert "different seed" in capsys.readouterr().err
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    assert cli(*_args(lists, tmp_path / "foreign", "--pairs", "1")) == 2
    assert _files(out) == before
