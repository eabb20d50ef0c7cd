"""Gray-tile ControlNet: the control video, no-op at init, hooks, training, exact save/load, full-size counts."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import WanTransformer3DModel
from safetensors.torch import load_file, save_file

from vidstyle.adapters.gray_tile import gray_tile_control
from vidstyle.adapters.tile_controlnet import TileControlNetConfig, WanTileControlNet
from vidstyle.backbones import PRESETS
from vidstyle.backbones.tiny import tiny_transformer_config
from vidstyle.errors import VidstyleInputError

GRID = (3, 8, 8)  # latent F, h, w -> 3 x 4 x 4 tokens


def tiny_transformer(num_layers: int = 4, seed: int = 0) -> WanTransformer3DModel:
    """A tiny random T2V transformer (16 channels, width 24) with ``num_layers`` blocks."""
    torch.manual_seed(seed)
    return WanTransformer3DModel(**{**tiny_transformer_config("t2v"), "num_layers": num_layers}).eval()


def inputs(batch: int = 1, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 16, *GRID, generator=g), torch.tensor([700.0] * batch),
            torch.randn(batch, 512, 32, generator=g))


def control(batch: int = 1, seed: int = 2) -> torch.Tensor:
    return torch.randn(batch, 16, *GRID, generator=torch.Generator().manual_seed(seed))


def call(transformer, attention_kwargs=None, batch: int = 1) -> torch.Tensor:
    x, t, text = inputs(batch)
    return transformer(x, t, text, attention_kwargs=attention_kwargs, return_dict=False)[0]


def randomise(net: WanTileControlNet, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for proj in net.zero_projections:
            for p in proj.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


@pytest.fixture
def base():
    return tiny_transformer()


# ---- gray tile --------------------------------------------------------------------------------
def test_gray_tile_is_gray_blurred_and_same_shape():
    pixels = torch.rand(2, 3, 2, 64, 48) * 2 - 1
    tile = gray_tile_control(pixels)
    assert tile.shape == pixels.shape and tile.dtype == pixels.dtype
    assert torch.equal(tile[:, 0], tile[:, 1]) and torch.equal(tile[:, 0], tile[:, 2])
    def high(v):
        return v.diff(dim=-1).pow(2).mean() + v.diff(dim=-2).pow(2).mean()
    assert high(tile) < 0.02 * high(pixels)
    assert tile.min() >= -1 and tile.max() <= 1


def test_gray_tile_flattens_a_checkerboard_and_keeps_luma_of_flat_colours():
    y, x = torch.meshgrid(torch.arange(32), torch.arange(40), indexing="ij")
    board = ((x + y) % 2 * 2 - 1).float().expand(1, 3, 2, 32, 40)
    torch.testing.assert_close(gray_tile_control(board), torch.zeros_like(board), atol=1e-6, rtol=0)
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1, 1).expand(1, 3, 1, 16, 16)
    torch.testing.assert_close(gray_tile_control(red), torch.full_like(red, 0.299 - 0.587 - 0.114))


@pytest.mark.parametrize("size", [(30, 45), (7, 5), (17, 64)])
def test_gray_tile_handles_sizes_not_divisible_by_the_factor(size):
    pixels = torch.rand(1, 3, 3, *size) * 2 - 1
    tile = gray_tile_control(pixels, factor=8)
    assert tile.shape == pixels.shape and torch.isfinite(tile).all()
    with pytest.raises(ValueError):
        gray_tile_control(pixels[:, :1])


# ---- construction and behaviour ---------------------------------------------------------------
def test_control_modules_start_as_copies_of_the_base(base):
    net = WanTileControlNet(base)
    assert net.block_indices == (0, 2) and len(net.blocks) == len(net.zero_projections) == 2
    for j, i in enumerate(net.block_indices):
        base_state = base.blocks[i].state_dict()
        assert all(torch.equal(v, base_state[k]) for k, v in net.blocks[j].state_dict().items())
        assert net.blocks[j] is not base.blocks[i]
    assert torch.equal(net.control_embedding.weight, base.patch_embedding.weight)
    assert torch.equal(net.control_embedding.bias, base.patch_embedding.bias)
    assert all(p.abs().sum() == 0 for proj in net.zero_projections for p in proj.parameters())


def test_i2v_base_gives_the_first_16_channels():
    torch.manual_seed(0)
    base = WanTransformer3DModel(**tiny_transformer_config("i2v"))
    net = WanTileControlNet(base, TileControlNetConfig(block_stride=1))
    assert torch.equal(net.control_embedding.weight, base.patch_embedding.weight[:, :16])


def test_fresh_controlnet_is_a_no_op(base):
    plain = call(base)
    net = WanTileControlNet(base)
    net.attach(base)
    with torch.no_grad():
        assert torch.equal(call(base, {"control_latents": control(), "control_scale": 1.0}), plain)


def test_absent_latents_or_zero_scale_change_nothing(base):
    with torch.no_grad():
        plain = call(base)
        net = WanTileControlNet(base, TileControlNetConfig(block_stride=1))
        randomise(net)
        net.attach(base)
        assert torch.equal(call(base), plain)
        assert torch.equal(call(base, {"frame_types": ["video"] * 3}), plain)
        assert torch.equal(call(base, {"control_latents": control(), "control_scale": 0.0}), plain)
        assert not torch.equal(call(base, {"control_latents": control()}), plain)
        net.detach()
        assert torch.equal(call(base, {"control_latents": control()}), plain)


def test_control_changes_the_output_and_depends_on_the_latents(base):
    net = WanTileControlNet(base)
    randomise(net)
    net.attach(base)
    with torch.no_grad():
        plain = call(base)
        one = call(base, {"control_latents": control(seed=2)})
        two = call(base, {"control_latents": control(seed=3)})
        half = call(base, {"control_latents": control(seed=2), "control_scale": 0.5})
    assert not torch.equal(one, plain) and not torch.equal(one, two) and not torch.equal(half, one)


def test_manual_reference_matches_the_hooks():
    base = tiny_transformer(num_layers=3)
    net = WanTileControlNet(base)  # copies blocks 0, 2
    randomise(net)
    latents, scale = control(), 0.7
    net.attach(base)
    with torch.no_grad():
        got = call(base, {"control_latents": latents, "control_scale": scale})
        captured = {}
        hooks = [b.register_forward_pre_hook(lambda m, a, i=i: captured.setdefault(i, a)) for i, b in
                 enumerate(base.blocks)]
        net.detach()
        call(base)
        for h in hooks:
            h.remove()
        hidden, text, temb, rope = captured[0]
        c = hidden + net.control_embedding(latents).flatten(2).transpose(1, 2)
        out = hidden
        for i, block in enumerate(base.blocks):
            out = block(out, text, temb, rope)
            if i % 2 == 0:
                c = net.blocks[i // 2](c, text, temb, rope)
                out = out + scale * net.zero_projections[i // 2](c)
        shift, sc = (base.scale_shift_table + base.condition_embedder(
            torch.tensor([700.0]), inputs()[2], None)[0].unsqueeze(1)).chunk(2, dim=1)
        out = base.proj_out(base.norm_out(out) * (1 + sc) + shift)
        expected = out.reshape(1, 3, 4, 4, 1, 2, 2, -1).permute(0, 7, 1, 4, 2, 5, 3, 6).flatten(6, 7).flatten(4, 5)
    torch.testing.assert_close(got, expected.flatten(2, 3), atol=1e-5, rtol=1e-5)


def test_guidance_batch_broadcasts_control_of_batch_one(base):
    net = WanTileControlNet(base)
    randomise(net)
    net.attach(base)
    with torch.no_grad():
        single = call(base, {"control_latents": control(1)}, batch=2)
        repeated = call(base, {"control_latents": control(1).repeat(2, 1, 1, 1, 1)}, batch=2)
        torch.testing.assert_close(single, repeated)
        with pytest.raises(ValueError, match="batch"):
            call(base, {"control_latents": control(3)}, batch=2)
        with pytest.raises(ValueError, match="grid"):
            call(base, {"control_latents": torch.randn(1, 16, 3, 4, 8)})


def test_gradients_reach_projections_then_copied_blocks(base):
    base.requires_grad_(False)
    net = WanTileControlNet(base)
    net.attach(base)
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    call(base, {"control_latents": control()}).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.zero_projections.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in net.blocks.parameters())
    assert all(p.grad is None for p in base.parameters())
    optimizer.step()
    optimizer.zero_grad()
    call(base, {"control_latents": control()}).pow(2).mean().backward()
    assert net.blocks[0].ffn.net[2].weight.grad.abs().sum() > 0
    assert net.blocks[1].attn1.to_q.weight.grad.abs().sum() > 0
    assert net.control_embedding.weight.grad.abs().sum() > 0


def test_active_window_and_config_checks():
    config = TileControlNetConfig()
    assert [config.is_active(i, 10) for i in range(10)] == [True] * 7 + [False] * 3
    assert sum(config.is_active(i, 30) for i in range(30)) == 21
    assert not TileControlNetConfig(active_fraction=0.0).is_active(0, 5)
    with pytest.raises(ValueError):
        config.is_active(10, 10)
    with pytest.raises(ValueError):
        TileControlNetConfig(block_stride=0)
    with pytest.raises(ValueError):
        TileControlNetConfig(active_fraction=1.5)


def test_attach_twice_is_refused(base):
    net = WanTileControlNet(base)
    handles = net.attach(base)
    assert len(handles) == 3  # block-0 pre-hook + blocks 0 and 2
    with pytest.raises(ValueError, match="already attached"):
        net.attach(base)


def test_detaching_another_adapter_keeps_the_shared_call_context(base):
    from vidstyle.adapters.call_context import current_call_context
    from vidstyle.adapters.style_attention import StyleAttentionAdapter, StyleAttentionConfig

    net = WanTileControlNet(base)
    randomise(net)
    net.attach(base)
    with torch.no_grad():
        controlled = call(base, {"control_latents": control()})
    other = StyleAttentionAdapter(base, StyleAttentionConfig(style_dim=base.config.num_attention_heads
                                                             * base.config.attention_head_dim))
    other.detach()  # releases its use of the context; the ControlNet still holds it
    assert current_call_context(base) is not None
    with torch.no_grad():
        assert torch.equal(call(base, {"control_latents": control()}), controlled)
    net.detach()
    assert current_call_context(base) is None  # the last user released it


# ---- files ------------------------------------------------------------------------------------
def test_save_load_round_trip_is_exact(base, tmp_path):
    net = WanTileControlNet(base, TileControlNetConfig(block_stride=1, conditioning_scale=0.8, active_fraction=0.5))
    randomise(net)
    with torch.no_grad():
        for p in net.blocks.parameters():
            p.add_(0.01)
    net.save_pretrained(tmp_path / "cn")
    names = sorted(f.name for f in (tmp_path / "cn").iterdir())
    assert names == ["tile_controlnet.json", "tile_controlnet.safetensors"]
    loaded = WanTileControlNet.from_pretrained(tmp_path / "cn", tiny_transformer(seed=5))
    assert loaded.config == net.config
    state = loaded.state_dict()
    assert state.keys() == net.state_dict().keys()
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_invalid_files_are_refused(base, tmp_path):
    net = WanTileControlNet(base)
    good = net.save_pretrained(tmp_path / "good")
    weights = load_file(good / "tile_controlnet.safetensors")
    meta = json.loads((good / "tile_controlnet.json").read_text())

    def variant(name, tensors=None, config=None, raw=None):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "tile_controlnet.json").write_text(json.dumps(config or meta))
        if raw is not None:
            (directory / "tile_controlnet.safetensors").write_bytes(raw)
        else:
            save_file(tensors or weights, directory / "tile_controlnet.safetensors")
        return directory

    bad_shape = {**weights, "zero_projections.0.bias": torch.zeros(5)}
    cases = [
        tmp_path / "missing",
        variant("corrupt", raw=b"not a safetensors file"),
        variant("missing_key", tensors={k: v for k, v in weights.items() if k != "blocks.1.ffn.net.2.weight"}),
        variant("extra_key", tensors={**weights, "blocks.9.x": torch.zeros(1)}),
        variant("shape", tensors=bad_shape),
        variant("format", config={**meta, "format": "other"}),
        variant("config", config={**meta, "config": {"block_stride": 0}}),
    ]
    for path in cases:
        with pytest.raises(VidstyleInputError) as err:
            WanTileControlNet.from_pretrained(path, base)
        assert "\n" not in str(err.value)
    with pytest.raises(VidstyleInputError, match="base"):
        WanTileControlNet.from_pretrained(good, tiny_transformer(num_layers=2))


# ---- full-size counts -------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["wan2.1-t2v-1.3b", "wan2.1-t2v-14b"])
def test_full_size_parameter_counts_on_meta(preset):
    cfg = PRESETS[preset].transformer_config
    with torch.device("meta"):
        base = WanTransformer3DModel(**cfg)
    net = WanTileControlNet(base)
    net.attach(base)
    dim, ffn, layers = cfg["num_attention_heads"] * cfg["attention_head_dim"], cfg["ffn_dim"], cfg["num_layers"]
    copied = (layers + 1) // 2
    per_block = sum(p.numel() for p in base.blocks[0].parameters())
    # scale-shift table 6D; self- and cross-attention 4(D^2 + D) + RMSNorm q/k 2D each; cross-attn LayerNorm 2D; FFN
    assert per_block == 6 * dim + 2 * (4 * dim * dim + 4 * dim + 2 * dim) + 2 * dim + 2 * dim * ffn + ffn + dim
    embedding, projection = dim * 16 * 4 + dim, dim * dim + dim
    assert net.num_parameters() == copied * (per_block + projection) + embedding
    assert net.num_parameters() == copied * (9 * dim * dim + 2 * dim * ffn + 22 * dim + ffn) + 65 * dim
    assert all(p.device.type == "meta" for p in net.parameters())
    expected = {"wan2.1-t2v-1.3b": 15 * (9 * 1536**2 + 2 * 1536 * 8960 + 22 * 1536 + 8960) + 65 * 1536,
                "wan2.1-t2v-14b": 20 * (9 * 5120**2 + 2 * 5120 * 13824 + 22 * 5120 + 13824) + 65 * 5120}
    assert net.num_parameters() == expected[preset]
