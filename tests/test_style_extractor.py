"""StyleMaster style extractor: least-similar patch selection, content shuffle, shapes, training, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig

from vidstyle.errors import VidstyleInputError
from vidstyle.style import (
    StyleExtractor,
    StyleExtractorConfig,
    build_tiny_clip,
    global_style_embedding,
    select_least_similar,
    shuffle_content,
    shuffle_permutation,
    triplet_style_loss,
)

CONFIG_NAME, WEIGHTS_NAME = "style_extractor.json", "style_extractor.safetensors"

OUT_DIM = 24


@pytest.fixture(scope="module")
def tiny_clip():
    return build_tiny_clip(seed=0)


@pytest.fixture()
def extractor(tiny_clip) -> StyleExtractor:
    return StyleExtractor(StyleExtractorConfig(clip_model="unused", out_dim=OUT_DIM), tiny_clip[0])


@pytest.fixture(scope="module")
def batch(tiny_clip):
    """CLIP-normalised pixels [2, 3, 32, 32] and tokenised prompts [2, 77]."""
    _, tokenizer, _ = tiny_clip
    pixel_values = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    text = tokenizer(["a cat on a sofa", "a red car"], padding="max_length", max_length=77, return_tensors="pt")
    return pixel_values, text["input_ids"], text["attention_mask"]


def tiles_of(images: torch.Tensor, grid: int) -> list[list[bytes]]:
    """Per image, the sorted raw bytes of its ``grid x grid`` tiles."""
    b, c, h, w = images.shape
    tiles = images.reshape(b, c, grid, h // grid, grid, w // grid).permute(0, 2, 4, 1, 3, 5)
    return [sorted(t.numpy().tobytes() for t in tiles[i].reshape(grid * grid, -1)) for i in range(b)]


# ---------------------------------------------------------------- selection


def test_select_least_similar_picks_the_least_similar_patches():
    gen = torch.Generator().manual_seed(0)
    b, n, d, k = 2, 64, 80, 15
    basis = torch.linalg.qr(torch.randn(d, d, generator=gen))[0]  # orthonormal columns
    text_dir, others = basis[:, 0], basis[:, 1:].T  # text direction and 79 orthogonal directions
    # patch i = cos_i * text + sin_i * other_i (times a random positive scale): its cosine to the text is cos_i.
    cosines = torch.stack([torch.linspace(-0.9, 0.95, n)[torch.randperm(n, generator=gen)] for _ in range(b)])
    sines = (1 - cosines**2).sqrt()
    patches = cosines[..., None] * text_dir + sines[..., None] * others[:n]
    patches = patches * (torch.rand(b, n, 1, generator=gen) * 5 + 0.1)
    text = text_dir.expand(b, d) * torch.tensor([[3.0], [0.2]])

    indices = select_least_similar(patches, text, k)

    assert indices.shape == (b, k) and indices.dtype == torch.long
    for i in range(b):
        truth = set(cosines[i].argsort()[:k].tolist())
        most_similar = set(cosines[i].argsort(descending=True)[:k].tolist())
        assert set(indices[i].tolist()) == truth
        assert not set(indices[i].tolist()) & most_similar  # the released code's (wrong) choice
        assert torch.all(cosines[i][indices[i]].diff() > 0)  # least similar first


def test_select_least_similar_rejects_bad_k():
    with pytest.raises(ValueError):
        select_least_similar(torch.randn(1, 4, 8), torch.randn(1, 8), 5)


def test_local_branch_uses_patch_hidden_states_without_cls(extractor, batch):
    pixel_values, input_ids, attention_mask = batch
    clip = extractor.clip
    captured = {}
    hook = extractor.qformer.register_forward_pre_hook(lambda _m, args: captured.setdefault("context", args[0]))
    try:
        out = extractor(pixel_values, input_ids, attention_mask)
    finally:
        hook.remove()
    with torch.no_grad():
        hidden = clip.vision_model(pixel_values=pixel_values).last_hidden_state  # [B, 1 + 64, 16]
        patches = clip.vision_model.post_layernorm(hidden[:, 1:])
        text = clip.text_projection(clip.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output)
    expected = select_least_similar(clip.visual_projection(patches), text, 15)

    assert hidden.shape[1] == 65 and patches.shape[1] == 64
    assert torch.equal(out.selected_indices, expected)
    assert out.selected_indices.min() >= 0 and out.selected_indices.max() < 64
    for i in range(2):  # the Q-Former reads the hidden (pre-projection) features of exactly those patches
        torch.testing.assert_close(captured["context"][i], patches[i, expected[i]])


# ---------------------------------------------------------------- content shuffle


def test_shuffle_is_seeded_tile_permutation_that_destroys_layout():
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    a, again, other = shuffle_content(images, 0), shuffle_content(images, 0), shuffle_content(images, 1)

    assert torch.equal(a, again)
    assert not torch.equal(a, other)
    assert not torch.equal(a, images)
    assert torch.equal(a.flatten(1).sort().values, images.flatten(1).sort().values)
    assert tiles_of(a, 4) == tiles_of(images, 4) == tiles_of(other, 4)
    perm = shuffle_permutation(16, 0)
    tiles = images.reshape(2, 3, 4, 8, 4, 8)
    assert torch.equal(a.reshape(2, 3, 4, 8, 4, 8)[:, :, 0, :, 0], tiles[:, :, perm[0] // 4, :, perm[0] % 4])


def test_shuffle_permutation_is_never_identity():
    for seed in range(300):  # with 4 tiles a plain randperm is the identity 1 time in 24
        assert not torch.equal(shuffle_permutation(4, seed), torch.arange(4))
    with pytest.raises(ValueError):
        shuffle_content(torch.zeros(1, 3, 30, 30), 0, grid=4)


# ---------------------------------------------------------------- extractor


def test_output_shapes_and_encode(extractor, batch, tiny_clip):
    out = extractor(*batch)
    assert out.tokens.shape == (2, 16 + 4, OUT_DIM)
    assert out.local.shape == (2, 16, OUT_DIM) and out.global_.shape == (2, 4, OUT_DIM)
    assert out.selected_indices.shape == (2, 15)
    assert torch.equal(out.tokens, torch.cat([out.local, out.global_], dim=1))

    _, tokenizer, image_processor = tiny_clip
    images = [Image.fromarray(np.full((40, 56, 3), 30 * i, dtype=np.uint8)) for i in range(3)]
    encoded = extractor.encode(images, ["a cat", "a dog " * 30, "x"], image_processor, tokenizer)
    assert encoded.tokens.shape == (3, 20, OUT_DIM)
    with pytest.raises(VidstyleInputError):
        extractor.encode(images, ["a cat"], image_processor, tokenizer)


def test_clip_frozen_and_trainable_parts_get_gradients(extractor, batch):
    extractor.train()
    assert not extractor.clip.training and extractor.qformer.training
    assert all(not p.requires_grad for p in extractor.clip.parameters())
    trainable = {id(p) for p in extractor.trainable_parameters()}
    assert trainable == {id(p) for p in extractor.parameters() if p.requires_grad}

    extractor(*batch).tokens.pow(2).mean().backward()

    for name, param in extractor.named_parameters():
        if name.startswith("clip."):
            assert param.grad is None, name
        else:
            assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_triplet_loss_and_global_embedding(extractor, batch):
    anchor = torch.randn(4, 32, generator=torch.Generator().manual_seed(3))
    assert triplet_style_loss(anchor, anchor, -anchor).item() == pytest.approx(0.0, abs=1e-6)
    orthogonal = torch.randn(4, 32)
    orthogonal -= (orthogonal * anchor).sum(-1, keepdim=True) / anchor.pow(2).sum(-1, keepdim=True) * anchor
    near = anchor + 0.01 * torch.randn(4, 32)
    loss = triplet_style_loss(anchor, orthogonal, near, margin=0.2)  # d(a,p) = 1, d(a,n) ~ 0
    assert loss.dim() == 0 and loss.item() == pytest.approx(1.2, abs=0.01)

    embedding = global_style_embedding(extractor, batch[0])
    assert embedding.shape == (2, 4 * OUT_DIM)
    torch.testing.assert_close(embedding, extractor(*batch).global_.flatten(1))


# ---------------------------------------------------------------- persistence


def perturbed(extractor: StyleExtractor) -> StyleExtractor:
    """Move the trainable weights away from their seeded initialisation."""
    with torch.no_grad():
        for p in extractor.trainable_parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return extractor


def test_save_load_round_trip(extractor, batch, tiny_clip, tmp_path):
    clip_dir = tmp_path / "clip"
    tiny_clip[0].save_pretrained(clip_dir)
    extractor.config.clip_model = str(clip_dir)
    perturbed(extractor).save_pretrained(tmp_path / "style")
    assert sorted(p.name for p in (tmp_path / "style").iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    assert all(not k.startswith("clip.") for k in load_file(tmp_path / "style" / WEIGHTS_NAME))

    same_clip = StyleExtractor.from_pretrained(tmp_path / "style", clip_model=tiny_clip[0])
    from_config = StyleExtractor.from_pretrained(tmp_path / "style")  # CLIP loaded from config.clip_model
    expected = extractor(*batch).tokens
    assert same_clip.config == extractor.config
    assert torch.equal(same_clip(*batch).tokens, expected)
    assert torch.equal(from_config(*batch).tokens, expected)


def test_bad_files_raise_input_error(extractor, tiny_clip, tmp_path):
    clip = tiny_clip[0]
    directory = tmp_path / "style"
    errors = []

    def load_error() -> str:
        with pytest.raises(VidstyleInputError) as info:
            StyleExtractor.from_pretrained(directory, clip_model=clip)
        errors.append(str(info.value))
        return errors[-1]

    assert "not found" in load_error()  # missing directory
    extractor.save_pretrained(directory)
    weights = {k: v.clone() for k, v in load_file(directory / WEIGHTS_NAME).items()}  # no mmap: we overwrite it
    config = json.loads((directory / CONFIG_NAME).read_text())

    (directory / WEIGHTS_NAME).write_bytes(b"\x00garbage" * 10)
    assert "safetensors" in load_error()
    (directory / WEIGHTS_NAME).unlink()
    assert WEIGHTS_NAME in load_error()

    save_file({k: v for k, v in weights.items() if k != "local_out.bias"}, directory / WEIGHTS_NAME)
    assert "missing 1" in load_error()
    save_file({**weights, "extra.weight": torch.zeros(2)}, directory / WEIGHTS_NAME)
    assert "unexpected 1" in load_error()
    save_file(weights, directory / WEIGHTS_NAME)
    (directory / CONFIG_NAME).write_text(json.dumps({**config, "out_dim": 32}))
    assert "shape" in load_error()

    (directory / CONFIG_NAME).write_text("{not json")
    load_error()
    (directory / CONFIG_NAME).write_text(json.dumps({**config, "surprise": 1}))
    assert "surprise" in load_error()
    (directory / CONFIG_NAME).write_text(json.dumps({**config, "num_patches": 65}))
    assert "65" in load_error()
    (directory / CONFIG_NAME).write_text(json.dumps({**config, "clip_model": str(tmp_path / "nowhere")}))
    with pytest.raises(VidstyleInputError):
        StyleExtractor.from_pretrained(directory)
    assert all("\n" not in message for message in errors)


# ---------------------------------------------------------------- parameter count


def trainable_count_formula(c: StyleExtractorConfig, vision_hidden: int, projection_dim: int) -> int:
    """Trainable parameters: Q-Former + local output linear + global MLP.

    With W = Q-Former width, C = CLIP vision hidden (the selected patches' width), P = CLIP projection dim:
      Q-Former  = Q*W (queries) + 2C (context LayerNorm) + 2W (output LayerNorm)
                  + L * [6W (3 LayerNorms) + 4W^2 + 4W (self-attn) + 2W^2 + 2WC + 4W (cross-attn, kdim=vdim=C)
                         + 8W^2 + 5W (MLP W->4W->W)]
      local out = W*out + out
      global    = P*Hp + Hp + Hp*G*out + G*out
    """
    w, cdim, p = c.qformer_width or vision_hidden, vision_hidden, projection_dim
    hp, out = c.projection_hidden, c.out_dim
    qformer = c.qformer_queries * w + 2 * cdim + 2 * w + c.qformer_layers * (14 * w * w + 2 * w * cdim + 19 * w)
    return qformer + (w * out + out) + (p * hp + hp + hp * c.num_global_tokens * out + c.num_global_tokens * out)


def test_vit_h14_on_meta_device_has_formula_parameter_count():
    vision = CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                              image_size=224, patch_size=14, projection_dim=1024)
    text = CLIPTextConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                          projection_dim=1024)
    config = StyleExtractorConfig(out_dim=5120)
    with torch.device("meta"):
        clip = CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=1024))
        extractor = StyleExtractor(config, clip)

    count = sum(p.numel() for p in extractor.trainable_parameters())
    # W = C = 1280, P = Hp = 1024: 16*1280 + 2*1280 + 2*1280 + 2*(14*1280^2 + 2*1280^2 + 19*1280)
    #   + (1280*5120 + 5120) + (1024*1024 + 1024 + 1024*4*5120 + 4*5120)
    assert count == trainable_count_formula(config, 1280, 1024) == 81_103_360
    assert sum(p.numel() for p in clip.parameters()) == 986_109_441  # OpenCLIP ViT-H/14, frozen
    assert all(p.device.type == "meta" for p in extractor.parameters())


def test_formula_with_a_qformer_narrower_than_clip(tiny_clip):
    config = StyleExtractorConfig(out_dim=OUT_DIM, qformer_width=24, qformer_heads=4, qformer_layers=3)
    extractor = StyleExtractor(config, tiny_clip[0])
    assert sum(p.numel() for p in extractor.trainable_parameters()) == trainable_count_formula(config, 16, 16)
