"""The shipped toy world: ship() round trip, the toyworld presets' default weights, and `vidstyle demo` on them.

Everything runs on a shipped folder built here from small random components (``VIDSTYLE_TOYWORLD_DIR``), never
on the weights committed to the package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import typer
from diffusers import WanImageToVideoPipeline, WanPipeline
from safetensors import safe_open

from benchmarks.toyworld.ship import ship
from vidstyle.adapters import TokenLoRAAdapter, TokenLoRAConfig
from vidstyle.backbones import build_tiny_components, get_preset
from vidstyle.backbones.shipped import ENV_VAR, load_shipped_toyworld
from vidstyle.backbones.toyworld import build_toyworld_components
from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.cli.methods import METHODS, load_method
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.stylemaster import StyleMasterPipeline
from vidstyle.video_io import read_video

COMMAND = typer.main.get_command(app)


def cli(*args) -> int:
    return run_cli(COMMAND, [str(a) for a in args])


def small_pipeline(kind: str, seed: int = 0):
    """A toy-world pipeline (the seeded tiny encoders) on tiny random VAE and transformer."""
    tiny = build_tiny_components(kind, seed=seed + 7)
    cls = WanImageToVideoPipeline if kind == "i2v" else WanPipeline
    return cls(**build_toyworld_components(kind, seed=seed, vae=tiny["vae"], transformer=tiny["transformer"]))


def random_adapter(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    adapter = TokenLoRAAdapter(build_tiny_components("i2v")["transformer"], TokenLoRAConfig(rank=2))
    with torch.no_grad():
        for p in adapter.parameters():
            p.normal_()
    return adapter.save(path)


def random_stylemaster(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    pipe = StyleMasterPipeline(**build_tiny_components("t2v"))
    pipe.init_stylemaster("tiny", controlnet=True, motion_rank=2, qformer_heads=2, projection_hidden=32)
    with torch.no_grad():
        for p in pipe.style_extractor.trainable_parameters():
            p.normal_()
    return pipe.save_stylemaster(path)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is faster than contending for shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict[str, Path]:
    """A benchmark-like output (``base/{i2v,t2v}/pipeline``, an adapter, StyleMaster weights) and its ship."""
    root = tmp_path_factory.mktemp("toyworld")
    for kind in ("i2v", "t2v"):
        small_pipeline(kind).save_pretrained(root / "base" / kind / "pipeline")
    paths = {"base": root / "base", "adapter": random_adapter(root / "adapter", 1),
             "stylemaster": random_stylemaster(root / "sm", 2), "root": root}
    paths["shipped"] = ship(paths["base"], paths["adapter"], paths["stylemaster"], root / "assets",
                            provenance={"command": "test", "psnr": 12.5})
    return paths


@pytest.fixture
def shipped_env(source, monkeypatch) -> Path:
    monkeypatch.setenv(ENV_VAR, str(source["shipped"]))
    return source["shipped"]


def stored_dtypes(directory: Path) -> set[torch.dtype]:
    dtypes = set()
    for path in directory.rglob("*.safetensors"):
        with safe_open(str(path), framework="pt") as f:
            dtypes |= {f.get_tensor(k).dtype for k in f.keys()}
    return dtypes


def test_ship_round_trip_is_float16_on_disk_and_float32_loaded(source):
    shipped = source["shipped"]
    manifest = json.loads((shipped / "toyworld.json").read_text())
    assert manifest["provenance"] == {"command": "test", "psnr": 12.5}
    assert manifest["models"]["i2v"]["encoders_seed"] == 0 and manifest["models"]["t2v"]["flow_shift"] == 3.0
    # the frozen encoders are the seeded ones: not stored; the shared frozen VAE is stored once
    assert set(manifest["models"]["i2v"]["components"]) == {"vae", "transformer"}
    assert sorted(p.name for p in shipped.glob("*.safetensors")) == [
        "transformer_i2v.safetensors", "transformer_t2v.safetensors", "vae.safetensors"]
    assert stored_dtypes(shipped) == {torch.float16}
    for kind in ("i2v", "t2v"):
        original = small_pipeline(kind).components
        loaded = load_shipped_toyworld(kind, shipped)
        for name in ("vae", "transformer", "text_encoder"):
            for key, value in original[name].state_dict().items():
                got = loaded[name].state_dict()[key]
                assert got.dtype == torch.float32
                stored = value.half().float() if name != "text_encoder" else value  # encoders: rebuilt exactly
                assert torch.equal(got, stored), (kind, name, key)
    assert not list(source["root"].glob(".assets.*"))  # no temporary folder left


def test_ship_stores_encoders_that_are_not_the_seeded_ones(source, tmp_path):
    base = tmp_path / "base"
    for kind in ("i2v", "t2v"):
        pipe = small_pipeline(kind)
        with torch.no_grad():
            pipe.text_encoder.shared.weight.add_(1.0)
        pipe.save_pretrained(base / kind / "pipeline")
    shipped = ship(base, source["adapter"], source["stylemaster"], tmp_path / "assets")
    loaded = load_shipped_toyworld("t2v", shipped)["text_encoder"].shared.weight
    assert (shipped / "text_encoder.safetensors").is_file()
    assert torch.equal(loaded, pipe.text_encoder.shared.weight.half().float())


def test_ship_failure_leaves_the_destination_untouched(source, tmp_path):
    dest = tmp_path / "assets"
    dest.mkdir()
    (dest / "keep.txt").write_text("not shipped weights")
    with pytest.raises(ValueError, match="refusing"):
        ship(source["base"], source["adapter"], source["stylemaster"], dest)
    with pytest.raises(VidstyleInputError):
        ship(source["base"], tmp_path / "no-adapter", source["stylemaster"], tmp_path / "other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets"]
    assert (dest / "keep.txt").read_text() == "not shipped weights"


def load(method: str, preset: str, adapter=None, weights=None):
    return load_method(METHODS[method], get_preset(preset), None, adapter, weights, torch.float32,
                       torch.device("cpu"), False, False, None)


def test_toyworld_presets_load_the_shipped_weights_and_explicit_ones_win(shipped_env, source, tmp_path):
    def adapter_state(pipe):
        return pipe.token_lora.state_dict()["blocks.0.attn1.to_q.lora_down"]

    shipped_down = TokenLoRAAdapter.load(build_tiny_components("i2v")["transformer"], source["adapter"])
    expected = shipped_down.state_dict()["blocks.0.attn1.to_q.lora_down"]
    assert torch.equal(adapter_state(load("dreamstyle", "toyworld")), expected.half().float())
    explicit = random_adapter(tmp_path / "explicit", 5)
    assert not torch.equal(adapter_state(load("dreamstyle", "toyworld", adapter=explicit)), expected.half().float())

    def extractor_state(pipe):
        return pipe.style_extractor.local_out.weight

    reference = StyleMasterPipeline(**build_tiny_components("t2v"))
    reference.load_stylemaster(source["stylemaster"])
    pipe = load("stylemaster", "toyworld-t2v")
    assert torch.equal(extractor_state(pipe), extractor_state(reference).half().float())
    assert pipe.controlnet is not None and pipe.motion_lora is not None
    other = load("stylemaster", "toyworld-t2v", weights=random_stylemaster(tmp_path / "sm", 9))
    assert not torch.equal(extractor_state(other), extractor_state(pipe))


def test_missing_shipped_weights_exit_2_with_one_line(tmp_path, monkeypatch, capsys, media):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nothing"))
    for args in (["stylize", media["odd"], "-o", tmp_path / "o.mp4", "--preset", "toyworld", "--prompt", "x"],
                 ["stylize", media["odd"], "-o", tmp_path / "o.mp4", "--preset", "toyworld-t2v", "--method",
                  "stylemaster", "--style-image", media["style"]],
                 ["demo", "-o", tmp_path / "demo"]):
        assert cli(*args) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "vidstyle bench toyworld" in err
    assert not (tmp_path / "o.mp4").exists()


def test_demo_on_the_shipped_toy_world_writes_every_mode_and_a_contact_sheet(shipped_env, tmp_path, capsys):
    assert cli("demo", "-o", tmp_path, "--steps", "1", "-q") == 0
    printed = capsys.readouterr().out
    modes = ["dreamstyle_text", "dreamstyle_style_image", "dreamstyle_first_frame", "dreamstyle_fused",
             "stylemaster_transfer", "stylemaster_generation"]
    for mode in modes:
        assert str(tmp_path / f"{mode}.mp4") in printed
        assert read_video(tmp_path / f"{mode}.mp4").frames.shape == (9, 64, 64, 3)
    assert str(tmp_path / "contact_sheet.png") in printed
    from PIL import Image

    with Image.open(tmp_path / "contact_sheet.png") as sheet:
        assert sheet.height > 64 * (3 + len(modes))
