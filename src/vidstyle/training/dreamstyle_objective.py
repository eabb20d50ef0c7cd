"""DreamStyle's training objective: flow matching on target frames, conditions sampled per step.

One cached sample (``CachedSample``) holds normalised VAE latents and text/CLIP embeddings. Each step
draws a condition type with the configured ratio (paper: text : style-image : first-frame = 1 : 2 : 1)
and assembles the transformer input exactly as :class:`~vidstyle.pipelines.DreamStylePipeline` does at
inference (:class:`~vidstyle.conditioning.DreamStyleCondition`): condition frames noised to the
same sigma as the targets. Flow matching (diffusers' convention): ``x_t = (1 - s) x0 + s eps``, the
model predicts ``eps - x0``; the loss is the MSE on target frames only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle.adapters.call_context import FRAME_TYPES_KEY
from vidstyle.conditioning import DreamStyleCondition
from vidstyle.training.flow_matching import flow_matching_draw

CONDITION_TYPES = ("text", "style_image", "first_frame")


@dataclass
class CachedSample:
    """One training sample from the cache (batch 1).

    - ``raw``, ``stylized``: ``[1, 16, F_lat, h, w]`` latents of the raw and the stylized video;
    - ``first_frame``: ``[1, 16, 1, h, w]`` latent of the stylized first frame (encoded as an image);
    - ``refs``: ``[1, 16, K, h, w]`` latents of the K style references;
    - ``text_ns``, ``text_sty``: ``[1, 512, text_dim]`` prompt embeddings of ``t_ns`` and ``t_sty``;
    - ``clip_refs``: ``[K, T, image_dim]`` CLIP states of each reference; ``clip_first``: ``[1, T, image_dim]``.
    """

    raw: torch.Tensor
    stylized: torch.Tensor
    first_frame: torch.Tensor
    refs: torch.Tensor
    text_ns: torch.Tensor
    text_sty: torch.Tensor
    clip_refs: torch.Tensor
    clip_first: torch.Tensor

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> CachedSample:
        return CachedSample(**{k: v.to(device, dtype) if dtype is not None and v.is_floating_point() else v.to(device)
                               for k, v in vars(self).items()})


def sample_condition(ratio: dict[str, float], generator: torch.Generator) -> str:
    """Draw a condition type with probabilities proportional to ``ratio``."""
    names = [n for n in CONDITION_TYPES if ratio.get(n, 0) > 0]
    weights = torch.tensor([float(ratio[n]) for n in names])
    return names[int(torch.multinomial(weights, 1, generator=generator))]


def build_step(sample: CachedSample, condition: str) -> tuple[DreamStyleCondition, torch.Tensor, torch.Tensor]:
    """The condition layout, text embedding ``[1, 512, D]`` and CLIP states ``[1, n*T, image_dim]`` of one step."""
    if condition == "text":
        return (DreamStyleCondition(video=sample.raw), sample.text_sty,
                torch.zeros_like(sample.clip_first))
    if condition == "style_image":
        clip = sample.clip_refs.reshape(1, -1, sample.clip_refs.shape[-1])
        return DreamStyleCondition(video=sample.raw, style=sample.refs), sample.text_ns, clip
    if condition == "first_frame":
        return DreamStyleCondition(video=sample.raw, first_frame=sample.first_frame), sample.text_ns, sample.clip_first
    raise ValueError(f"unknown condition {condition!r}; known: {CONDITION_TYPES}")


def dreamstyle_loss(transformer, sample: CachedSample, condition: str, generator: torch.Generator,
                    num_train_timesteps: int = 1000, shift: float = 3.0) -> torch.Tensor:
    """Flow-matching MSE on the target frames for one sample and condition type (scalar)."""
    layout, text, clip = build_step(sample, condition)
    x0 = sample.stylized.float()
    sigma, eps = flow_matching_draw(x0, generator, shift)
    noisy = (1 - sigma) * x0 + sigma * eps
    clean_cond = layout.clean_condition_latents()
    cond_noise = None if clean_cond is None else torch.randn(clean_cond.shape, generator=generator).to(x0.device)
    dtype = next(transformer.parameters()).dtype
    model_input = layout.model_input(noisy, sigma, cond_noise, layout.condition_channels()).to(dtype)
    timestep = torch.full((1,), sigma * num_train_timesteps, device=x0.device)
    pred = transformer(hidden_states=model_input, timestep=timestep, encoder_hidden_states=text.to(dtype),
                       encoder_hidden_states_image=clip.to(dtype),
                       attention_kwargs={FRAME_TYPES_KEY: layout.frame_types}, return_dict=False)[0]
    return F.mse_loss(pred[:, :, layout.target_frames].float(), eps - x0)
