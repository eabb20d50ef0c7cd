"""A tiny random IF-stage-1 stand-in, built offline in a fraction of a second (tests and demos only).

Same families and layouts as DeepFloyd IF stage 1: a pixel-space ``UNet2DConditionModel`` with simple
cross-attention blocks, a text projection and learned variance (``out_channels = 2 * 3``), a T5 encoder, and a
``DDPMScheduler`` with IF's settings (cosine betas, ``learned_range`` variance, dynamic thresholding).
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from transformers import T5Config, T5EncoderModel

from vidstyle.backbones.tiny import TINY_TEXT_DIM, tiny_t5_kwargs, tiny_tokenizer
from vidstyle.data.anagrams.stage1 import IFStage1


def tiny_unet(channels: int = 3) -> UNet2DConditionModel:
    """Random pixel UNet: ``[B, C, H, W]`` (sides multiples of 2) -> ``[B, 2C, H, W]``."""
    return UNet2DConditionModel(
        sample_size=64, in_channels=channels, out_channels=2 * channels, layers_per_block=1,
        block_out_channels=(16, 32), down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn", cross_attention_dim=16, encoder_hid_dim=TINY_TEXT_DIM,
        attention_head_dim=8, norm_num_groups=8, resnet_time_scale_shift="scale_shift",
        addition_embed_type="text", addition_embed_type_num_heads=2,
    )


def if_scheduler() -> DDPMScheduler:
    """A ``DDPMScheduler`` configured like IF stage 1's."""
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", variance_type="learned_range",
                         thresholding=True, dynamic_thresholding_ratio=0.95, sample_max_value=1.5,
                         clip_sample=True, prediction_type="epsilon")


def build_tiny_stage1(seed: int = 0) -> IFStage1:
    """Every stage-1 part with random weights drawn from ``seed`` (float32, eval mode, CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = T5EncoderModel(T5Config(**tiny_t5_kwargs(len(tokenizer))))
        unet = tiny_unet()
    return IFStage1(unet=unet.eval(), scheduler=if_scheduler(), text_encoder=text_encoder.eval(),
                    tokenizer=tokenizer, random_weights=True)
