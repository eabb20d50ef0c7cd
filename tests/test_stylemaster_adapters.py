"""StyleMaster adapters: style cross-attention and the signed-scale motion LoRA."""

from __future__ import annotations

import pytest
import torch
from diffusers import WanTransformer3DModel

from vidstyle.adapters.motion_lora import MotionLoRAAdapter, MotionLoRAConfig
from vidstyle.adapters.style_attention import StyleAttentionAdapter, StyleAttentionConfig
from vidstyle.backbones import PRESETS, build_tiny_components
from vidstyle.errors import VidstyleInputError

STYLE = torch.randn(1, 6, 24, generator=torch.Generator().manual_seed(0))


def t2v(seed: int = 0) -> WanTransformer3DModel:
    return build_tiny_components("t2v", seed=seed)["transformer"]


def call(transformer, seed: int = 1, **kwargs) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x, text = torch.randn(1, 16, 3, 8, 8, generator=g), torch.randn(1, 512, 32, generator=g)
    return transformer(x, torch.tensor([600.0]), text, attention_kwargs=kwargs or None, return_dict=False)[0]


def randomise(params, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


# ---- style cross-attention ---------------------------------------------------------------------

def test_style_attention_is_a_no_op_at_init():
    with torch.no_grad():
        plain = call(t2v())
        transformer = t2v()
        StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
        assert torch.equal(call(transformer, style_tokens=STYLE), plain)


def test_without_tokens_or_at_scale_zero_the_base_is_untouched():
    with torch.no_grad():
        plain = call(t2v())
        transformer = t2v()
        adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
        randomise(adapter.parameters())
        assert torch.equal(call(transformer), plain)
        assert torch.equal(call(transformer, style_tokens=STYLE, style_scale=0.0), plain)
        adapter.scale = 0.0
        assert torch.equal(call(transformer, style_tokens=STYLE), plain)
        adapter.scale = 1.0
        styled = call(transformer, style_tokens=STYLE)
        assert (styled - plain).abs().max() > 1e-3
        other = call(transformer, style_tokens=torch.randn(1, 6, 24))
        assert (styled - other).abs().max() > 1e-4  # the output depends on the style


def test_style_branch_is_linear_in_its_scale_at_the_attention_output():
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
    randomise(adapter.parameters())
    attn = transformer.blocks[0].attn2
    captured = {}
    attn.register_forward_hook(lambda m, a, out: captured.setdefault(len(captured), out))
    with torch.no_grad():
        for scale in (0.0, 1.0, 2.0):
            call(transformer, style_tokens=STYLE, style_scale=scale)
    base, one, two = captured[0], captured[1], captured[2]
    torch.testing.assert_close(two - base, 2 * (one - base), rtol=1e-4, atol=1e-5)


def _train(adapter, transformer, steps: int) -> list[dict[str, float]]:
    """Per step: summed |grad| of the key weight, value weight and uniform gate over ``steps`` SGD steps."""
    optimizer = torch.optim.SGD(adapter.parameters(), lr=0.5)
    target = torch.randn(1, 16, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    norms = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (call(transformer, style_tokens=STYLE) - target).square().mean()
        loss.backward()
        norms.append({
            "key": sum(p.to_k.weight.grad.abs().sum().item() for p in adapter.processors),
            "value": sum(p.to_v.weight.grad.abs().sum().item() for p in adapter.processors),
            "gate": sum(p.uniform_gate.grad.abs().sum().item() for p in adapter.processors),
        })
        optimizer.step()
    return norms


def test_key_projection_gets_a_gradient_at_the_first_step_of_an_exact_no_op():
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
    with torch.no_grad():
        assert torch.equal(call(transformer, style_tokens=STYLE), call(t2v()))  # exact no-op at init ...
    norms = _train(adapter, transformer, 2)
    assert norms[0]["key"] > 0.0 and norms[0]["gate"] > 0.0  # ... whose key path learns at the first step
    assert norms[0]["value"] == 0.0  # uniform attention and a zero gate: values learn from the next step
    assert all(v > 0.0 for v in norms[1].values())


def test_at_gate_one_the_branch_is_plain_softmax_attention():
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
    randomise(adapter.parameters())
    processor = adapter.processors[0]
    with torch.no_grad():
        processor.uniform_gate.fill_(1.0)
        query = torch.randn(2, 10, transformer.blocks[0].attn2.inner_dim)
        key = processor.norm_k(processor.to_k(STYLE)).unflatten(2, (processor.heads, -1)).transpose(1, 2)
        value = processor.to_v(STYLE).unflatten(2, (processor.heads, -1)).transpose(1, 2)
        q = query.unflatten(2, (processor.heads, -1)).transpose(1, 2)
        plain = torch.nn.functional.scaled_dot_product_attention(q, key.expand(2, -1, -1, -1),
                                                                 value.expand(2, -1, -1, -1))
        torch.testing.assert_close(processor.attend(query, STYLE), plain.transpose(1, 2).flatten(2))


def test_the_public_releases_zero_key_init_never_learns_its_key():
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
    with torch.no_grad():
        for p in adapter.processors:  # the defect: zero key projection and zero key-norm weight
            p.to_k.weight.zero_(), p.to_k.bias.zero_(), p.norm_k.weight.zero_()
    assert max(step["key"] for step in _train(adapter, transformer, 4)) == 0.0


def test_style_attention_save_load_and_errors(tmp_path):
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24, scale=0.7))
    randomise(adapter.parameters())
    with torch.no_grad():
        expected = call(transformer, style_tokens=STYLE)
    adapter.save(tmp_path / "style")
    fresh = t2v()
    loaded = StyleAttentionAdapter.load(fresh, tmp_path / "style")
    assert loaded.scale == 0.7
    with torch.no_grad():
        assert torch.equal(call(fresh, style_tokens=STYLE), expected)
    (tmp_path / "style" / "style_attention.safetensors").write_bytes(b"junk")
    with pytest.raises(VidstyleInputError):
        StyleAttentionAdapter.load(t2v(), tmp_path / "style")


def test_style_attention_detach_restores_wan_processors():
    transformer = t2v()
    adapter = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=24))
    randomise(adapter.parameters())
    adapter.detach()
    assert type(transformer.blocks[0].attn2.processor).__name__ == "WanAttnProcessor"
    with torch.no_grad():
        torch.testing.assert_close(call(transformer, style_tokens=STYLE), call(t2v()))


# ---- motion LoRA -------------------------------------------------------------------------------

def test_motion_lora_alpha_zero_is_the_base_and_the_sign_matters():
    with torch.no_grad():
        plain = call(t2v())
        transformer = t2v()
        adapter = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=4))
        assert torch.equal(call(transformer), plain)  # zero up matrices: no-op at any alpha
        randomise(adapter.parameters())
        adapter.alpha = 0.0
        assert torch.equal(call(transformer), plain)
        outputs = {}
        for alpha in (1.0, -0.3, 0.3):
            adapter.alpha = alpha
            outputs[alpha] = call(transformer)
    assert (outputs[0.3] - outputs[-0.3]).abs().max() > 1e-3
    assert (outputs[1.0] - plain).abs().max() > (outputs[0.3] - plain).abs().max()


def test_motion_lora_is_linear_in_alpha_at_a_layer():
    transformer = t2v()
    adapter = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=4))
    randomise(adapter.parameters())
    layer = adapter.layers["blocks.0.attn1.to_q"]
    x = torch.randn(2, 5, layer.base.in_features)
    with torch.no_grad():
        base = layer.base(x)
        adapter.alpha = 0.3
        plus = layer(x) - base
        adapter.alpha = -0.3
        minus = layer(x) - base
    torch.testing.assert_close(minus, -plus)


def test_motion_lora_trains_and_round_trips(tmp_path):
    transformer = t2v()
    adapter = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=4, alpha=1.0))
    call(transformer).square().mean().backward()
    assert all(layer.lora_up.grad.abs().sum() > 0 for layer in adapter.layers.values())
    randomise(adapter.parameters())
    adapter.save(tmp_path / "motion")
    fresh = t2v()
    loaded = MotionLoRAAdapter.load(fresh, tmp_path / "motion", alpha=-0.3)
    adapter.alpha = -0.3
    with torch.no_grad():
        assert torch.equal(call(fresh), call(transformer))
    with pytest.raises(VidstyleInputError):
        MotionLoRAAdapter.load(t2v(), tmp_path / "nothing-here")
    assert loaded.alpha == -0.3


# ---- full size -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("preset", "layers", "dim"), [("wan2.1-t2v-1.3b", 30, 1536), ("wan2.1-t2v-14b", 40, 5120)])
def test_full_size_t2v_on_meta_with_style_attention_and_motion_lora(preset, layers, dim):
    with torch.device("meta"):
        transformer = WanTransformer3DModel(**PRESETS[preset].transformer_config)
    style = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=dim))
    motion = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=32))
    assert style.num_parameters() == layers * (2 * (dim * dim + dim) + 2 * dim)
    assert motion.num_parameters() == layers * 3 * (32 * dim + dim * 32)
    assert all(p.device.type == "meta" for p in style.parameters() + motion.parameters())


@pytest.mark.parametrize(("preset", "layers", "dim", "ffn"), [("wan2.1-t2v-1.3b", 30, 1536, 8960),
                                                             ("wan2.1-t2v-14b", 40, 5120, 13824)])
def test_full_size_t2v_on_meta_with_every_stylemaster_module(preset, layers, dim, ffn):
    from vidstyle.adapters.tile_controlnet import WanTileControlNet

    with torch.device("meta"):
        transformer = WanTransformer3DModel(**PRESETS[preset].transformer_config)
    base = sum(p.numel() for p in transformer.parameters())
    controlnet = WanTileControlNet(transformer)  # copies clean base blocks, so it comes first
    controlnet.attach(transformer)
    style = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=dim))
    motion = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=32))
    # a Wan block: attn1 and attn2 (4 linears + q/k norms each), norm2, the FFN, the modulation table
    block = 2 * (4 * dim * dim + 6 * dim) + 2 * dim + (2 * dim * ffn + ffn + dim) + 6 * dim
    assert block == sum(p.numel() for p in transformer.blocks[0].parameters()) - style.num_parameters() // layers \
        - motion.num_parameters() // layers
    copied = (layers + 1) // 2
    assert controlnet.num_parameters() == copied * (block + dim * dim + dim) + (16 * 4 * dim + dim)
    assert style.num_parameters() == layers * (2 * (dim * dim + dim) + 2 * dim)
    assert motion.num_parameters() == layers * 3 * 2 * 32 * dim
    assert sum(p.numel() for p in transformer.parameters()) == base + style.num_parameters() + motion.num_parameters()
