"""StyleMaster on Wan T2V: stylized generation (prompt + style image) and video style transfer
(source video + style image, structure kept by the tile ControlNet: gray tile, or RGB in the ablation).

The StyleMaster parts are not diffusers components (a base directory written by ``WanPipeline``
loads as is): attach them with :meth:`StyleMasterPipeline.set_stylemaster` or load them from a
StyleMaster weights directory with :meth:`StyleMasterPipeline.load_stylemaster`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import PIL.Image
import torch
from diffusers import WanPipeline
from diffusers.pipelines.wan.pipeline_output import WanPipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from vidstyle.adapters.gray_tile import tile_control
from vidstyle.adapters.motion_lora import MotionLoRAAdapter
from vidstyle.adapters.style_attention import STYLE_TOKENS_KEY, StyleAttentionAdapter, StyleAttentionConfig
from vidstyle.adapters.tile_controlnet import (
    CONTROL_CACHE_KEY,
    CONTROL_LATENTS_KEY,
    CONTROL_SCALE_KEY,
    WanTileControlNet,
)
from vidstyle.guidance import three_pass_guidance
from vidstyle.pipelines.latents import VideoInput, WanLatentsMixin
from vidstyle.style import StyleExtractor
from vidstyle.style.clip import load_clip_preprocessors

PARTS = {"extractor": "style_extractor", "attention": "style_attention", "motion": "motion_lora",
         "controlnet": "tile_controlnet"}


class StyleMasterPipeline(WanLatentsMixin, WanPipeline):
    """Wan T2V + StyleMaster's style tokens, style cross-attention, motion LoRA and tile ControlNet."""

    style_extractor: StyleExtractor | None = None
    clip_processor: Any = None
    clip_tokenizer: Any = None
    style_attention: StyleAttentionAdapter | None = None
    motion_lora: MotionLoRAAdapter | None = None
    controlnet: WanTileControlNet | None = None

    # ---- parts -----------------------------------------------------------------------------
    def set_stylemaster(self, extractor: StyleExtractor, clip_processor: Any, clip_tokenizer: Any,
                        style_attention: StyleAttentionAdapter | None = None,
                        motion_lora: MotionLoRAAdapter | None = None,
                        controlnet: WanTileControlNet | None = None) -> None:
        """Attach the parts; a missing style attention is created fresh (a no-op until trained).

        Build ``controlnet`` from the transformer before ``motion_lora`` or ``style_attention`` wrap it.
        """
        self.style_extractor, self.clip_processor, self.clip_tokenizer = extractor, clip_processor, clip_tokenizer
        self.style_attention = style_attention or StyleAttentionAdapter(
            self.transformer, StyleAttentionConfig(style_dim=extractor.config.out_dim))
        self.motion_lora = motion_lora
        if controlnet is not None and not controlnet._handles:
            controlnet.attach(self.transformer)
        self.controlnet = controlnet

    def init_stylemaster(self, clip_id: str, controlnet: bool = True, motion_rank: int | None = None,
                         **extractor_options: Any) -> None:
        """Fresh, untrained parts (all no-ops until trained): the starting point of training, and the
        ``tiny-t2v`` stand-in. ``extractor_options`` go to :class:`StyleExtractorConfig`."""
        from vidstyle.adapters.motion_lora import MotionLoRAConfig
        from vidstyle.adapters.tile_controlnet import TileControlNetConfig
        from vidstyle.style import StyleExtractorConfig
        from vidstyle.style.clip import load_clip_model

        width = self.transformer.config.num_attention_heads * self.transformer.config.attention_head_dim
        config = StyleExtractorConfig(**{"clip_model": clip_id, "out_dim": width, **extractor_options})
        extractor = StyleExtractor(config, load_clip_model(clip_id)).to(self._execution_device)
        tokenizer, processor = load_clip_preprocessors(clip_id)
        net = WanTileControlNet(self.transformer, TileControlNetConfig()) if controlnet else None
        motion = MotionLoRAAdapter(self.transformer, MotionLoRAConfig(rank=motion_rank)) if motion_rank else None
        self.set_stylemaster(extractor, processor, tokenizer, motion_lora=motion, controlnet=net)

    def load_stylemaster(self, directory: str | os.PathLike, clip_model=None, clip_processor=None,
                         clip_tokenizer=None) -> None:
        """Load the parts saved by :meth:`save_stylemaster` (``motion_lora/``, ``tile_controlnet/`` optional).

        The CLIP towers come from the extractor's config unless given (with their processor/tokenizer).
        """
        directory = Path(directory)
        extractor = StyleExtractor.from_pretrained(directory / PARTS["extractor"], clip_model=clip_model)
        if clip_processor is None or clip_tokenizer is None:
            tokenizer, processor = load_clip_preprocessors(extractor.config.clip_model)
            clip_processor, clip_tokenizer = clip_processor or processor, clip_tokenizer or tokenizer
        extractor.to(self._execution_device)
        # the ControlNet copies base blocks, so it is built before other adapters wrap their layers
        controlnet = (WanTileControlNet.from_pretrained(directory / PARTS["controlnet"], self.transformer)
                      if (directory / PARTS["controlnet"]).exists() else None)
        attention = StyleAttentionAdapter.load(self.transformer, directory / PARTS["attention"])
        motion = (MotionLoRAAdapter.load(self.transformer, directory / PARTS["motion"])
                  if (directory / PARTS["motion"]).exists() else None)
        self.set_stylemaster(extractor, clip_processor, clip_tokenizer, attention, motion, controlnet)

    def save_stylemaster(self, directory: str | os.PathLike) -> Path:
        """Write every attached part into its own subfolder of ``directory``."""
        directory = Path(directory)
        self.style_extractor.save_pretrained(directory / PARTS["extractor"])
        self.style_attention.save(directory / PARTS["attention"])
        if self.motion_lora is not None:
            self.motion_lora.save(directory / PARTS["motion"])
        if self.controlnet is not None:
            self.controlnet.save_pretrained(directory / PARTS["controlnet"])
        return directory

    @torch.no_grad()
    def encode_style(self, image: PIL.Image.Image, prompt: str) -> torch.Tensor:
        """Style tokens ``[1, queries + global, D]`` of ``image`` (patches chosen against ``prompt``)."""
        if self.style_extractor is None:
            raise ValueError("no StyleMaster parts attached: call set_stylemaster or load_stylemaster")
        tokens = self.style_extractor.encode([image.convert("RGB")], [prompt], self.clip_processor,
                                             self.clip_tokenizer).tokens
        return tokens.to(self._execution_device, self.transformer.dtype)

    # ---- call ------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        style_image: PIL.Image.Image | None = None,
        style_tokens: torch.Tensor | None = None,
        video: VideoInput | None = None,
        negative_prompt: str | None = None,
        height: int = 480,
        width: int = 832,
        num_frames: int = 81,
        num_inference_steps: int = 50,
        guidance_scale: float = 8.0,
        style_guidance_scale: float = 4.0,
        motion_scale: float | None = None,
        control_scale: float | None = None,
        control_fraction: float | None = None,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable[[Any, int, Any, dict], dict] | None = None,
        max_sequence_length: int = 512,
    ) -> WanPipelineOutput | tuple:
        """Generate (``video`` None) or transfer (``video`` given: ``4k+1`` frames) in the style of ``style_image``.

        Three passes per step: negative text without style, prompt without style, prompt with style,
        combined by :func:`~vidstyle.guidance.three_pass_guidance`. ``motion_scale`` sets the motion
        LoRA's alpha for this call (its saved value otherwise); ``control_scale`` and
        ``control_fraction`` override the ControlNet's strength and active window (first 70% of steps).
        ``num_frames = 1`` stylizes a single image. Returns target frames like ``WanPipeline``.
        """
        if style_tokens is None:
            if style_image is None:
                raise ValueError("StyleMaster needs a style image (or precomputed style_tokens)")
            style_tokens = self.encode_style(style_image, prompt)
        if height % 16 or width % 16:
            raise ValueError(f"height and width must be multiples of 16, got {height}x{width}")
        device, dtype = self._execution_device, self.transformer.dtype
        control_latents = None
        if video is not None:
            if self.controlnet is None:
                raise ValueError("video style transfer needs the tile ControlNet (none attached)")
            num_frames = len(video)
            pixels = self.video_to_pixels(video, height, width)
            control = tile_control(pixels, self.controlnet.config.tile)  # the tile kind it was trained on
            control_latents = self.encode_pixels(control).to(device, dtype)
        if num_frames % self.vae_scale_factor_temporal != 1:
            raise ValueError(f"num_frames must be 4k+1, got {num_frames}")

        text, negative = self.encode_prompt(prompt=prompt, negative_prompt=negative_prompt,
                                            do_classifier_free_guidance=True,
                                            max_sequence_length=max_sequence_length, device=device)
        text, negative = text.to(dtype), negative.to(dtype)
        shape = (1, self.vae.config.z_dim, (num_frames - 1) // self.vae_scale_factor_temporal + 1,
                 height // self.vae_scale_factor_spatial, width // self.vae_scale_factor_spatial)
        latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32) \
            if latents is None else latents.to(device, torch.float32)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        self._num_timesteps, self._guidance_scale, self._interrupt = len(timesteps), guidance_scale, False
        with self._motion_scale(motion_scale), self.progress_bar(total=len(timesteps)) as progress_bar:
            for i, t in enumerate(timesteps):
                self._current_timestep = t
                plain: dict[str, Any] = {}
                shared: dict[str, Any] = {}
                if control_latents is not None:
                    active = self._control_active(i, len(timesteps), control_fraction)
                    strength = self.controlnet.config.conditioning_scale if control_scale is None else control_scale
                    plain = {CONTROL_LATENTS_KEY: control_latents, CONTROL_SCALE_KEY: strength if active else 0.0}
                    # the text and text+style passes give the control blocks identical inputs: compute once
                    shared = {CONTROL_CACHE_KEY: {}}
                x, timestep = latents.to(dtype), t.expand(1)
                n_full = self._predict(x, timestep, text, {**plain, **shared, STYLE_TOKENS_KEY: style_tokens})
                n_text = self._predict(x, timestep, text, {**plain, **shared})
                n_neg = self._predict(x, timestep, negative, plain) if guidance_scale != 1 else n_text
                noise = three_pass_guidance(n_neg.float(), n_text.float(), n_full.float(), guidance_scale,
                                            style_guidance_scale)
                latents = self.scheduler.step(noise, t, latents, return_dict=False)[0]
                if callback_on_step_end is not None:
                    latents = (callback_on_step_end(self, i, t, {"latents": latents}) or {}).get("latents", latents)
                progress_bar.update()
        self._current_timestep = None
        return self.finish(latents, output_type, return_dict)

    @contextmanager
    def _motion_scale(self, alpha: float | None) -> Iterator[None]:
        """The motion LoRA's alpha set to ``alpha`` (when both exist) for the block, then restored."""
        if alpha is None or self.motion_lora is None:
            yield
            return
        saved, self.motion_lora.alpha = self.motion_lora.alpha, alpha
        try:
            yield
        finally:
            self.motion_lora.alpha = saved

    def _control_active(self, step: int, steps: int, fraction: float | None) -> bool:
        if fraction is None:
            return self.controlnet.config.is_active(step, steps)
        return step < fraction * steps

    def _predict(self, x: torch.Tensor, timestep: torch.Tensor, text: torch.Tensor,
                 attention_kwargs: dict[str, Any]) -> torch.Tensor:
        """Transformer velocity ``[1, 16, F_lat, h, w]``."""
        return self.transformer(hidden_states=x, timestep=timestep, encoder_hidden_states=text,
                                attention_kwargs=attention_kwargs or None, return_dict=False)[0]

