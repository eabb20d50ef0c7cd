"""The ``toyworld`` architecture: Wan VAE and DiT sized to be trained from scratch on 64x64 toy clips on a CPU.

Between the random ``tiny`` stand-ins (too small to learn) and the released checkpoints. The VAE keeps Wan's
8x spatial / 4x temporal compression and 16 latent channels (``AutoencoderKLWan``, causal 3D convolutions);
the DiT keeps Wan's layout (patch 1x2x2, RoPE, text cross-attention, separate CLIP image K/V for I2V). The
text encoder, tokenizer and CLIP image tower are the frozen random ``tiny`` ones (``backbones/tiny.py``):
distinct captions still give distinct embeddings, and the transformer learns to read them.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel

from vidstyle.backbones.tiny import TINY_IMAGE_DIM, TINY_TEXT_DIM, build_tiny_components

KINDS = ("i2v", "t2v")


def toyworld_vae_config(base_dim: int = 16, dim_mult: tuple[int, ...] = (1, 2, 2, 2), num_res_blocks: int = 1,
                        is_residual: bool = True) -> dict[str, Any]:
    """``AutoencoderKLWan`` kwargs: 16 latent channels, 8x spatial and 4x temporal (causal) compression.

    ``is_residual`` picks Wan 2.2's down/up blocks, whose parameter-free space-to-channel shortcuts make the
    VAE train from scratch several times faster (``docs/training.md``, toy-world base models).
    """
    return dict(base_dim=base_dim, z_dim=16, dim_mult=list(dim_mult), num_res_blocks=num_res_blocks,
                temperal_downsample=[False, True, True], is_residual=is_residual)


def toyworld_transformer_config(kind: str = "i2v", num_attention_heads: int = 4, attention_head_dim: int = 32,
                                ffn_dim: int = 512, num_layers: int = 4) -> dict[str, Any]:
    """``WanTransformer3DModel`` kwargs for the tiny text (and, for I2V, CLIP image) encoders.

    I2V takes 36 input channels (16 noisy + 4 mask + 16 first-frame condition) and CLIP image K/V of the
    model width, as ``WanImageToVideoPipeline`` expects; T2V takes the 16 noisy channels only.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be 'i2v' or 't2v', got {kind!r}")
    config: dict[str, Any] = dict(
        patch_size=(1, 2, 2), num_attention_heads=num_attention_heads, attention_head_dim=attention_head_dim,
        in_channels=16, out_channels=16, text_dim=TINY_TEXT_DIM, freq_dim=256, ffn_dim=ffn_dim,
        num_layers=num_layers, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    if kind == "i2v":
        config.update(in_channels=36, image_dim=TINY_IMAGE_DIM, added_kv_proj_dim=num_attention_heads *
                      attention_head_dim)
    return config


def build_toyworld_components(kind: str = "i2v", seed: int = 0, flow_shift: float = 3.0,
                              vae: AutoencoderKLWan | None = None,
                              transformer: WanTransformer3DModel | None = None) -> dict[str, Any]:
    """Every component of a ``WanImageToVideoPipeline`` (``"i2v"``) or ``WanPipeline`` (``"t2v"``).

    ``vae`` and ``transformer`` default to fresh random toyworld ones drawn from ``seed``; the text encoder,
    tokenizer, CLIP image encoder and processor are the ``tiny`` ones of ``seed`` (frozen during training).
    All modules in eval mode and float32.
    """
    components = build_tiny_components(kind, seed=seed, flow_shift=flow_shift)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        if vae is None:
            vae = AutoencoderKLWan(**toyworld_vae_config())
        if transformer is None:
            transformer = WanTransformer3DModel(**toyworld_transformer_config(kind))
    components.update(vae=vae.eval(), transformer=transformer.eval())
    return components
