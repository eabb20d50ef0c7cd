"""Token-specific LoRA: routing, no-op at init, merged == unmerged, exact save/load, full-size count."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import WanTransformer3DModel

from vidstyle.adapters import TokenLoRAAdapter, TokenLoRAConfig, TokenLoRALinear, token_runs
from vidstyle.adapters.call_context import CallContext
from vidstyle.backbones import PRESETS, build_tiny_components
from vidstyle.errors import VidstyleInputError

FRAME_TYPES = ["first_frame", "video", "video", "style"]


def tiny_transformer(seed: int = 0) -> WanTransformer3DModel:
    return build_tiny_components("i2v", seed=seed)["transformer"]


def call(transformer, frame_types=None, seed: int = 1) -> torch.Tensor:
    """One forward on a 4-latent-frame, 8x8 input (16 tokens per frame)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 36, 4, 8, 8, generator=g)
    text, image = torch.randn(1, 512, 32, generator=g), torch.randn(1, 17, 8, generator=g)
    kwargs = {"frame_types": frame_types} if frame_types else None
    with torch.no_grad():
        return transformer(x, torch.tensor([700.0]), text, image, attention_kwargs=kwargs, return_dict=False)[0]


def randomise(adapter: TokenLoRAAdapter, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in adapter.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def test_token_runs_merge_frames():
    assert token_runs(FRAME_TYPES, 16) == [("first_frame", 0, 16), ("video", 16, 48), ("style", 48, 64)]


def test_layer_routes_each_token_type_to_its_up_matrix():
    base = torch.nn.Linear(6, 5)
    context = CallContext(runs=token_runs(["video", "style"], 3), num_tokens=6)
    scales = {"video": 1.0, "style": 0.5}
    layer = TokenLoRALinear(base, rank=2, token_types=("video", "style"), scales=scales, context=context)
    with torch.no_grad():
        layer.lora_up["video"].normal_()
        layer.lora_up["style"].normal_()
    x = torch.randn(2, 6, 6)
    down = x @ layer.lora_down.t()
    expected = base(x).clone()
    expected[:, :3] += down[:, :3] @ layer.lora_up["video"].t()
    expected[:, 3:] += 0.5 * down[:, 3:] @ layer.lora_up["style"].t()
    torch.testing.assert_close(layer(x), expected)


def test_shared_lora_gives_every_token_the_video_up_matrix():
    transformer = tiny_transformer()
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=4, token_types=("video",)))
    randomise(adapter)
    typed = call(transformer, FRAME_TYPES)
    torch.testing.assert_close(typed, call(transformer, ["video"] * 4))  # the types no longer matter
    adapter.merge("video")
    torch.testing.assert_close(call(transformer, FRAME_TYPES), typed, rtol=1e-5, atol=1e-5)


def test_fresh_adapter_is_a_no_op():
    plain = call(tiny_transformer(), FRAME_TYPES)
    transformer = tiny_transformer()
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=4))
    assert all(not up.any() for layer in adapter.layers.values() for up in layer.lora_up.values())
    torch.testing.assert_close(call(transformer, FRAME_TYPES), plain, rtol=0, atol=0)


def test_trained_adapter_changes_output_and_types_matter():
    transformer = tiny_transformer()
    plain = call(transformer, FRAME_TYPES)
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=4))
    randomise(adapter)
    typed = call(transformer, FRAME_TYPES)
    all_video = call(transformer, ["video"] * 4)
    assert (typed - plain).abs().max() > 1e-3
    assert (typed - all_video).abs().max() > 1e-3  # the same tokens, other types -> other output


def test_merged_inference_equals_unmerged():
    transformer = tiny_transformer()
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=4, scales={"style": 0.7, "first_frame": 1.3}))
    randomise(adapter)
    unmerged = call(transformer, FRAME_TYPES)
    adapter.merge("video")
    assert adapter.merged_type == "video"
    torch.testing.assert_close(call(transformer, FRAME_TYPES), unmerged, rtol=1e-5, atol=1e-5)
    adapter.set_scales(style=0.2)  # re-merges
    adapter.unmerge()
    rescaled = call(transformer, FRAME_TYPES)
    adapter.merge()
    torch.testing.assert_close(call(transformer, FRAME_TYPES), rescaled, rtol=1e-5, atol=1e-5)


def test_detach_restores_the_plain_transformer():
    transformer = tiny_transformer()
    plain = call(transformer)
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=4))
    randomise(adapter)
    adapter.merge()
    adapter.detach()
    assert not any(isinstance(m, TokenLoRALinear) for m in transformer.modules())
    torch.testing.assert_close(call(transformer), plain, rtol=1e-5, atol=1e-6)


def test_save_then_load_is_exact(tmp_path):
    transformer = tiny_transformer()
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=3, scales={"style": 0.5}))
    randomise(adapter, seed=3)
    expected = call(transformer, FRAME_TYPES)
    adapter.save(tmp_path / "ad")
    config = json.loads((tmp_path / "ad" / "token_lora.json").read_text())
    assert config["rank"] == 3 and config["scales"]["style"] == 0.5

    fresh = tiny_transformer()
    loaded = TokenLoRAAdapter.load(fresh, tmp_path / "ad" / "token_lora.safetensors")
    for key, value in adapter.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    torch.testing.assert_close(call(fresh, FRAME_TYPES), expected, rtol=0, atol=0)


def test_gradients_reach_every_adapter_parameter():
    transformer = tiny_transformer()
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=2))
    randomise(adapter)
    x = torch.randn(1, 36, 4, 8, 8)
    out = transformer(x, torch.tensor([500.0]), torch.randn(1, 512, 32), torch.randn(1, 17, 8),
                      attention_kwargs={"frame_types": FRAME_TYPES}, return_dict=False)[0]
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in adapter.parameters())


@pytest.mark.parametrize("damage", ["garbage_weights", "bad_json", "wrong_format", "wrong_shapes", "missing"])
def test_invalid_adapters_are_refused(tmp_path, damage):
    adapter = TokenLoRAAdapter(tiny_transformer(), TokenLoRAConfig(rank=2))
    folder = adapter.save(tmp_path / "ad")
    if damage == "garbage_weights":
        (folder / "token_lora.safetensors").write_bytes(b"not safetensors at all")
    elif damage == "bad_json":
        (folder / "token_lora.json").write_text("{oops")
    elif damage == "wrong_format":
        (folder / "token_lora.json").write_text(json.dumps({"format": "peft", "rank": 2}))
    elif damage == "wrong_shapes":
        config = json.loads((folder / "token_lora.json").read_text())
        (folder / "token_lora.json").write_text(json.dumps({**config, "rank": 5}))
    else:
        folder = tmp_path / "nowhere"
    transformer = tiny_transformer()
    with pytest.raises(VidstyleInputError):
        TokenLoRAAdapter.load(transformer, folder)
    assert not any(isinstance(m, TokenLoRALinear) for m in transformer.modules())


def test_full_size_i2v_14b_on_meta_with_rank_64_adapter():
    config = PRESETS["wan2.1-i2v-14b-480p"].transformer_config
    with torch.device("meta"):
        transformer = WanTransformer3DModel(**config)
    adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=64))
    dim, ffn, rank, types, layers = 5120, 13824, 64, 3, 40
    per_block = 4 * (rank * dim + types * dim * rank) + (rank * dim + types * ffn * rank) + (
        rank * ffn + types * dim * rank)
    assert adapter.num_parameters() == layers * per_block == 403_701_760
    assert len(adapter.layers) == 6 * layers
    assert all(p.device.type == "meta" for p in adapter.parameters())
