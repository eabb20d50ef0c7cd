"""Tiny random Wan components, built fully offline, for tests and demos.

Same architecture families and tensor layouts as the released checkpoints (UMT5 text encoder,
CLIP vision tower, ``AutoencoderKLWan`` with 8x spatial / 4x temporal compression, Wan DiT with
separate image K/V for I2V), at widths that run in a fraction of a second on a CPU.
"""

from __future__ import annotations

import string
from typing import Any

import torch
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModel,
    T5Tokenizer,
    UMT5Config,
    UMT5EncoderModel,
)

TINY_TEXT_DIM = 32
TINY_IMAGE_DIM = 8


def tiny_t5_kwargs(vocab_size: int) -> dict[str, Any]:
    """Config kwargs of the tiny (UM)T5 text encoders: width 32, 2 layers, 4 heads."""
    return dict(vocab_size=vocab_size, d_model=TINY_TEXT_DIM, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                relative_attention_num_buckets=8, relative_attention_max_distance=32)


def tiny_tokenizer() -> T5Tokenizer:
    """A character-level T5 tokenizer (no sentencepiece file): specials, the word marker, characters."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    chars = string.ascii_letters + string.digits + string.punctuation
    vocab += [(c, -2.0) for c in chars] + [("\u2581" + c, -1.5) for c in string.ascii_lowercase]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def tiny_transformer_config(kind: str = "i2v") -> dict[str, Any]:
    """WanTransformer3DModel kwargs: 2 heads x 12 dims, 2 blocks; I2V adds CLIP image K/V."""
    config: dict[str, Any] = dict(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=TINY_TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, rope_max_seq_len=32,
    )
    if kind == "i2v":
        config.update(in_channels=36, image_dim=TINY_IMAGE_DIM, added_kv_proj_dim=24)
    return config


def build_tiny_components(kind: str = "i2v", seed: int = 0, flow_shift: float = 3.0) -> dict[str, Any]:
    """Every component a Wan pipeline takes, with random weights drawn from ``seed``.

    Returns the keyword arguments of ``WanImageToVideoPipeline`` (kind ``"i2v"``) or ``WanPipeline``
    (kind ``"t2v"``), all modules in eval mode and float32.
    """
    if kind not in ("i2v", "t2v"):
        raise ValueError(f"kind must be 'i2v' or 't2v', got {kind!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = UMT5EncoderModel(UMT5Config(**tiny_t5_kwargs(len(tokenizer))))
        vae = AutoencoderKLWan(
            base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
            temperal_downsample=[False, True, True],
        )
        transformer = WanTransformer3DModel(**tiny_transformer_config(kind))
        components: dict[str, Any] = dict(
            tokenizer=tokenizer, text_encoder=text_encoder.eval(), vae=vae.eval(),
            transformer=transformer.eval(), scheduler=FlowMatchEulerDiscreteScheduler(shift=flow_shift),
        )
        if kind == "i2v":
            image_encoder = CLIPVisionModel(CLIPVisionConfig(
                hidden_size=TINY_IMAGE_DIM, projection_dim=TINY_IMAGE_DIM, num_hidden_layers=2,
                num_attention_heads=2, image_size=32, intermediate_size=16, patch_size=8,
            ))
            components.update(
                image_encoder=image_encoder.eval(),
                image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size=32),
            )
    return components
