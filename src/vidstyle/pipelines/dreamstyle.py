"""DreamStyle: one Wan2.1 I2V model that stylizes a raw video from a style prompt, style images,
or a stylized first frame (DESIGN §1).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL.Image
import torch
from diffusers import WanImageToVideoPipeline
from diffusers.pipelines.wan.pipeline_output import WanPipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from vidstyle.adapters.call_context import FRAME_TYPES_KEY
from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig
from vidstyle.conditioning import DreamStyleCondition
from vidstyle.guidance import three_pass_guidance
from vidstyle.pipelines.latents import VideoInput, WanLatentsMixin
from vidstyle.video_io import fit_image

MODES = ("text", "style_image", "first_frame", "fused")


def dreamstyle_mode(prompt: str | None, style_images: Sequence[Any] | None, first_frame: Any | None,
                    style_prompt: str | None) -> str:
    """The mode that the given conditions select (conditions combine; none at all raises ``ValueError``).

    - ``first_frame``: a stylized first frame, optionally with style images and/or a style text
      (long videos chain segments this way, keeping the user's style condition);
    - ``fused``: style images together with a style text (``style_prompt``);
    - ``style_image``: 1..K style images (+ style-free prompt);
    - ``text``: a prompt that carries the style (or ``prompt`` + ``style_prompt``).
    """
    if first_frame is not None:
        return "first_frame"
    if style_images:
        return "fused" if style_prompt else "style_image"
    if not (prompt or style_prompt):
        raise ValueError("give a style: a prompt, style image(s), or a stylized first frame")
    return "text"


@dataclass
class _Branch:
    """One set of conditions the transformer is run on per step (the styled call, or style guidance's
    style-free one): the condition latents, their fixed noise ``[1, C, n_first + K, h, w]`` and the CLIP image
    tokens ``[1, T, D]``."""

    condition: DreamStyleCondition
    condition_noise: torch.Tensor | None
    image_embeds: torch.Tensor

    def __post_init__(self) -> None:
        self.channels = self.condition.condition_channels()
        self.attention_kwargs = {FRAME_TYPES_KEY: self.condition.frame_types}

    def model_input(self, latents: torch.Tensor, sigma: float | torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``[1, 36, F_total, h, w]`` for the noisy targets ``latents`` at noise level ``sigma``."""
        return self.condition.model_input(latents, sigma, self.condition_noise, self.channels).to(dtype)


class DreamStylePipeline(WanLatentsMixin, WanImageToVideoPipeline):
    """Video-to-video stylization on Wan I2V components (same constructor as ``WanImageToVideoPipeline``).

    A token-specific LoRA (:class:`~vidstyle.adapters.TokenLoRAAdapter`) carries the DreamStyle
    weights; without one the pipeline runs the base model on the DreamStyle input layout.
    """

    # ---- adapter ----------------------------------------------------------------------------
    @property
    def token_lora(self) -> TokenLoRAAdapter | None:
        return getattr(self.transformer, "_vidstyle_token_lora", None)

    def add_token_lora(self, config: TokenLoRAConfig | None = None) -> TokenLoRAAdapter:
        """Attach a fresh (no-op) token-specific LoRA, e.g. for training."""
        return TokenLoRAAdapter(self.transformer, config)

    def load_token_lora(self, path: str | os.PathLike, merge: bool = True) -> TokenLoRAAdapter:
        """Attach a saved adapter; ``merge`` folds the video update into the base weights."""
        adapter = TokenLoRAAdapter.load(self.transformer, path)
        if merge:
            adapter.merge("video")
        return adapter

    # ---- encoding ---------------------------------------------------------------------------
    @staticmethod
    def image_to_pixels(image: PIL.Image.Image, height: int, width: int) -> torch.Tensor:
        """PIL image -> ``[1, 3, 1, height, width]`` in [-1, 1], cover-resized and centre-cropped."""
        array = np.asarray(fit_image(image.convert("RGB"), height, width)).copy()
        return (torch.from_numpy(array).float().permute(2, 0, 1) / 127.5 - 1)[None, :, None]

    def encode_clip_images(self, images: Sequence[PIL.Image.Image], device: torch.device) -> torch.Tensor:
        """CLIP penultimate hidden states of each image, concatenated on the token axis: ``[1, K*T, D]``."""
        return torch.cat([self.encode_image(image, device) for image in images], dim=1)

    def build_condition(self, pixels: torch.Tensor, style_images: Sequence[PIL.Image.Image] | None,
                        first_frame: PIL.Image.Image | None) -> DreamStyleCondition:
        """Latents of the raw video, the stylized first frame and each style image at the video's size."""
        height, width = pixels.shape[-2:]
        encode_one = lambda image: self.encode_pixels(self.image_to_pixels(image, height, width))  # noqa: E731
        return DreamStyleCondition(
            video=self.encode_pixels(pixels),
            first_frame=encode_one(first_frame) if first_frame is not None else None,
            style=torch.cat([encode_one(im) for im in style_images], dim=2) if style_images else None,
        )

    # ---- call -------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        video: VideoInput,
        prompt: str | None = None,
        style_images: Sequence[PIL.Image.Image] | None = None,
        first_frame: PIL.Image.Image | None = None,
        style_prompt: str | None = None,
        negative_prompt: str | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 5.0,
        style_guidance_scale: float | None = None,
        condition_noise: float | None = None,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable[[Any, int, Any, dict], dict] | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        max_sequence_length: int = 512,
    ) -> WanPipelineOutput | tuple:
        """Stylize ``video`` (``4k+1`` frames).

        Args:
            video: uint8 ``[F, H, W, 3]``, float ``[F, 3, H, W]`` in [-1, 1], or a list of PIL frames.
            prompt: ``t_sty`` in text mode (or content text with ``style_prompt``), ``t_ns`` otherwise.
            style_images: 1..K style references (style-image mode; with ``style_prompt``: fused mode).
            first_frame: a stylized version of the video's first frame (first-frame mode).
            style_prompt: a style description appended to ``prompt``.
            height, width: working size (multiples of 16); defaults to the video's, rounded down.
            guidance_scale: text guidance; the negative pass keeps every image condition.
            style_guidance_scale: None (the paper's sampling: two passes). A number adds a pass without the
                style images (``style_images`` required) and combines the three as StyleMaster does
                (:func:`~vidstyle.guidance.three_pass_guidance`): negative and prompt passes without the style
                images, ``style_guidance_scale`` on the step from the prompt pass to the styled one.
            condition_noise: noise level of the condition frames' noisy channels; None follows the
                current step's sigma.
            output_type: ``"np"`` (``[1, F, H, W, 3]`` in [0, 1]), ``"pt"``, ``"pil"`` or ``"latent"``
                (the target latents ``[1, 16, F_lat, h, w]``).
        Returns:
            ``WanPipelineOutput(frames=...)`` with the target frames only.
        """
        dreamstyle_mode(prompt, style_images, first_frame, style_prompt)
        if style_guidance_scale is not None and not style_images:
            raise ValueError("style_guidance_scale needs style images (it guides toward them)")
        if self.transformer_2 is not None:
            raise ValueError("DreamStyle is defined on single-transformer Wan2.1 I2V (no transformer_2)")
        if self.transformer.config.image_dim is None:
            raise ValueError("DreamStyle needs an image-to-video transformer (CLIP image branch, 36 channels)")
        num_frames = len(video)
        if num_frames % self.vae_scale_factor_temporal != 1:
            raise ValueError(f"the video must have 4k+1 frames, got {num_frames}")
        src_h, src_w = (video.shape[-2:] if isinstance(video, torch.Tensor)
                        else np.asarray(video[0]).shape[:2])
        height = height or src_h // 16 * 16
        width = width or src_w // 16 * 16
        if height % 16 or width % 16 or height < 16 or width < 16:
            raise ValueError(f"height and width must be positive multiples of 16, got {height}x{width}")
        text = ", ".join(t for t in (prompt, style_prompt) if t)
        self._guidance_scale = guidance_scale
        self._current_timestep = None
        self._interrupt = False
        device = self._execution_device
        dtype = self.transformer.dtype

        prompt_embeds, negative_embeds = self.encode_prompt(
            prompt=text, negative_prompt=negative_prompt, do_classifier_free_guidance=guidance_scale > 1,
            max_sequence_length=max_sequence_length, device=device)
        prompt_embeds = prompt_embeds.to(dtype)
        negative_embeds = negative_embeds.to(dtype) if negative_embeds is not None else None

        pixels = self.video_to_pixels(video, height, width)
        condition = self.build_condition(pixels, style_images, first_frame).to(device)
        if latents is None:
            latents = randn_tensor(condition.video.shape, generator=generator, device=device, dtype=torch.float32)
        else:
            latents = latents.to(device, torch.float32)
        clean_cond = condition.clean_condition_latents()
        cond_noise = (randn_tensor(clean_cond.shape, generator=generator, device=device, dtype=torch.float32)
                      if clean_cond is not None else None)
        styled = _Branch(condition, cond_noise, self._image_embeds(first_frame, style_images, device).to(dtype))
        plain = None  # the style-free branch of style guidance: same video and first frame, no style images
        if style_guidance_scale is not None:  # its CLIP tokens: the first frame's (they lead), or zeros
            per_image = styled.image_embeds.shape[1] // (condition.num_first + len(style_images))
            first_tokens = styled.image_embeds[:, :per_image]
            plain = _Branch(DreamStyleCondition(condition.video, condition.first_frame),
                            cond_noise[:, :, : condition.num_first] if condition.num_first else None,
                            first_tokens if condition.num_first else torch.zeros_like(first_tokens))

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        self._num_timesteps = len(timesteps)
        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for i, t in enumerate(timesteps):
                self._current_timestep = t
                sigma = self._sigma(i, t) if condition_noise is None else condition_noise
                timestep = t.expand(latents.shape[0])
                styled_input = styled.model_input(latents, sigma, dtype)  # one input per branch and step
                noise_pred = self._predict(styled, styled_input, timestep, prompt_embeds)
                if plain is not None:
                    plain_input = plain.model_input(latents, sigma, dtype)
                    n_text = self._predict(plain, plain_input, timestep, prompt_embeds)
                    n_neg = (self._predict(plain, plain_input, timestep, negative_embeds) if guidance_scale > 1
                             else n_text)
                    noise_pred = three_pass_guidance(n_neg, n_text, noise_pred, guidance_scale, style_guidance_scale)
                elif guidance_scale > 1:
                    noise_uncond = self._predict(styled, styled_input, timestep, negative_embeds)
                    noise_pred = noise_uncond + guidance_scale * (noise_pred - noise_uncond)
                latents = self.scheduler.step(noise_pred, t, latents, return_dict=False)[0]
                if callback_on_step_end is not None:
                    step_locals = {"latents": latents, "prompt_embeds": prompt_embeds,
                                   "negative_prompt_embeds": negative_embeds}
                    outputs = callback_on_step_end(
                        self, i, t, {k: step_locals[k] for k in callback_on_step_end_tensor_inputs}) or {}
                    latents = outputs.pop("latents", latents)
                progress_bar.update()
        self._current_timestep = None
        return self.finish(latents, output_type, return_dict)

    def _image_embeds(self, first_frame: PIL.Image.Image | None, style_images: Sequence[PIL.Image.Image] | None,
                      device: torch.device) -> torch.Tensor:
        """The CLIP branch's input ``[1, T, D]``: the first frame then each style image; zeros (one image's
        worth) when there is neither, as in text mode."""
        images = ([first_frame] if first_frame is not None else []) + list(style_images or [])
        if images:
            return self.encode_clip_images(images, device)
        return torch.zeros_like(self.encode_image(PIL.Image.new("RGB", (16, 16)), device))

    def _sigma(self, step: int, t: torch.Tensor) -> float:
        """Noise level of step ``step``: the scheduler's sigma (FlowMatchEuler, UniPC with flow sigmas),
        else ``t / num_train_timesteps``."""
        sigmas = getattr(self.scheduler, "sigmas", None)
        if sigmas is not None and len(sigmas) > step:
            return float(sigmas[step])
        return float(t) / self.scheduler.config.num_train_timesteps

    def _predict(self, branch: _Branch, model_input: torch.Tensor, timestep: torch.Tensor,
                 text: torch.Tensor) -> torch.Tensor:
        """Transformer velocity of the target frames, float32 ``[B, 16, F_lat, h, w]``, for ``model_input``
        (:meth:`_Branch.model_input`) under ``branch``'s image tokens and frame types and the text tokens ``text``."""
        velocity = self.transformer(hidden_states=model_input, timestep=timestep, encoder_hidden_states=text,
                                    encoder_hidden_states_image=branch.image_embeds,
                                    attention_kwargs=branch.attention_kwargs, return_dict=False)[0]
        return velocity[:, :, branch.condition.target_frames].float()
