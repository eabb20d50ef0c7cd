"""The visual-anagram sampler for a pixel-space diffusion model (DeepFloyd IF stage 1 and look-alikes).

At every step the one noisy image ``x_t`` ``[1, C, H, W]`` is shown through each view; the UNet runs once on
the batch of all views, unconditional and conditional (``2V`` images, view ``i`` with prompt ``i``); every
estimate is turned back with its view's inverse (the learned-variance channels too), classifier-free guidance
is applied to the noise channels, the estimates are averaged over the views, and the scheduler takes its step.
Because the views are pixel permutations, the noise each view sees is still i.i.d. Gaussian, so the averaged
estimate is a valid denoising direction for every view at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from diffusers.utils.torch_utils import randn_tensor

from vidstyle.data.anagrams.views import View

LEARNED_VARIANCE = ("learned", "learned_range")


@dataclass
class AnagramResult:
    """The sampler's output, float32 on the UNet's device, values about in ``[-1, 1]``.

    ``image``: ``[1, C, H, W]``, the one image; ``views``: ``[V, C, H, W]``, ``views[i] = view_i(image)``.
    """

    image: torch.Tensor
    views: torch.Tensor


def _embeddings(prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor, count: int) -> torch.Tensor:
    """``[2V, L, D]``: the unconditional rows (one per view) then the conditional ones."""
    if prompt_embeds.dim() != 3 or prompt_embeds.shape[0] != count:
        raise ValueError(f"prompt_embeds must be [V={count}, L, D], got {tuple(prompt_embeds.shape)}")
    if negative_embeds.dim() != 3 or negative_embeds.shape[0] not in (1, count):
        raise ValueError(f"negative_embeds must be [1 or {count}, L, D], got {tuple(negative_embeds.shape)}")
    if negative_embeds.shape[1:] != prompt_embeds.shape[1:]:
        raise ValueError(f"negative_embeds {tuple(negative_embeds.shape)} and prompt_embeds "
                         f"{tuple(prompt_embeds.shape)} differ in [L, D]")
    return torch.cat([negative_embeds.expand(count, -1, -1), prompt_embeds])


def _step_kwargs(scheduler, generator: torch.Generator | None) -> dict:
    """``generator=`` for schedulers whose ``step`` draws noise with one (DDPM does)."""
    return {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}


@torch.no_grad()
def sample_anagram(
    unet: torch.nn.Module,
    scheduler,
    views: Sequence[View],
    prompt_embeds: torch.Tensor,
    negative_embeds: torch.Tensor,
    *,
    height: int = 64,
    width: int | None = None,
    steps: int = 30,
    guidance_scale: float = 10.0,
    generator: torch.Generator | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> AnagramResult:
    """Denoise one ``[1, C, H, W]`` image whose view ``i`` shows prompt ``i``.

    ``unet``: a diffusers ``UNet2DConditionModel`` in pixel space (``C = unet.config.in_channels``); it may
    return ``2C`` channels (noise, then learned variance). ``scheduler``: ``DDPMScheduler`` or a compatible one
    (``set_timesteps``, ``scale_model_input``, ``step``); its ``variance_type`` decides whether the averaged
    variance channels are passed on. ``prompt_embeds``: ``[V, L, D]``, one row per view; ``negative_embeds``:
    ``[V, L, D]`` or ``[1, L, D]`` (shared). ``generator`` draws the initial noise and the scheduler's noise.
    ``on_step(i, steps)`` is called after step ``i`` (0-based). The UNet runs once per step on ``2V`` images.
    """
    if not views:
        raise ValueError("sample_anagram needs at least one view")
    width = height if width is None else width
    for view in views:
        view.check_size(height, width)
    count, channels = len(views), unet.config.in_channels
    device, dtype = unet.device, unet.dtype
    embeds = _embeddings(prompt_embeds, negative_embeds, count).to(device=device, dtype=dtype)
    learned = getattr(scheduler.config, "variance_type", None) in LEARNED_VARIANCE
    scheduler.set_timesteps(steps, device=device)
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(0)
    shape = (1, channels, height, width)
    image = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32) * scheduler.init_noise_sigma
    for index, t in enumerate(scheduler.timesteps):
        shown = torch.cat([view.view(image) for view in views])  # [V, C, H, W]
        model_input = scheduler.scale_model_input(torch.cat([shown, shown]), t)  # [2V, C, H, W]
        output = unet(model_input.to(dtype), t, encoder_hidden_states=embeds, return_dict=False)[0].float()
        if output.shape[1] not in (channels, 2 * channels) or (learned and output.shape[1] != 2 * channels):
            raise ValueError(f"the UNet returned {output.shape[1]} channels for {channels} input channels with "
                             f"a {'learned' if learned else 'fixed'}-variance scheduler")
        output = torch.cat([views[i % count].inverse(output[i:i + 1]) for i in range(2 * count)])
        uncond, cond = output.chunk(2)  # [V, C or 2C, H, W] each
        noise = uncond[:, :channels] + guidance_scale * (cond[:, :channels] - uncond[:, :channels])
        model_output = noise.mean(0, keepdim=True)
        if learned:
            model_output = torch.cat([model_output, cond[:, channels:].mean(0, keepdim=True)], dim=1)
        image = scheduler.step(model_output, t, image, **_step_kwargs(scheduler, generator), return_dict=False)[0]
        if on_step is not None:
            on_step(index, len(scheduler.timesteps))
    return AnagramResult(image=image, views=torch.cat([view.view(image) for view in views]))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` in ``[-1, 1]`` -> ``[B, H, W, C]`` uint8 on the CPU (IF's post-processing)."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
