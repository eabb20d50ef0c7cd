"""VAE latents of Wan pipelines: normalisation, encode, decode and video -> pixels, shared by vidstyle's pipelines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from diffusers.pipelines.wan.pipeline_output import WanPipelineOutput
from diffusers.utils.torch_utils import get_module_execution_device

VideoInput = np.ndarray | torch.Tensor | Sequence[PIL.Image.Image]


class WanLatentsMixin:
    """For a pipeline with a Wan ``vae``: latents are normalised with the VAE's per-channel mean/std."""

    def _vae_normalise(self, latents: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        config = self.vae.config
        mean = torch.tensor(config.latents_mean).view(1, config.z_dim, 1, 1, 1).to(latents)
        std = torch.tensor(config.latents_std).view(1, config.z_dim, 1, 1, 1).to(latents)
        return latents * std + mean if inverse else (latents - mean) / std

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[B, 3, F, H, W]`` in [-1, 1] -> normalised latents ``[B, 16, (F-1)/4+1, H/8, W/8]`` (float32)."""
        vae_device = get_module_execution_device(self.vae)
        latents = self.vae.encode(pixels.to(vae_device, self.vae.dtype)).latent_dist.mode()
        return self._vae_normalise(latents.float())

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents ``[B, 16, F_lat, h, w]`` -> pixels ``[B, 3, 4(F_lat-1)+1, 8h, 8w]`` in [-1, 1]."""
        vae_device = get_module_execution_device(self.vae)
        latents = self._vae_normalise(latents.to(vae_device, torch.float32), inverse=True)
        return self.vae.decode(latents.to(self.vae.dtype), return_dict=False)[0]

    @staticmethod
    def video_to_pixels(video: VideoInput, height: int, width: int) -> torch.Tensor:
        """uint8 ``[F, H, W, 3]`` array, float ``[F, 3, H, W]`` tensor in [-1, 1], or PIL frames ->
        ``[1, 3, F, height, width]`` in [-1, 1] (bicubic resize when sizes differ)."""
        if isinstance(video, torch.Tensor):
            frames = video.float()
        else:
            array = np.stack([np.asarray(f.convert("RGB")) for f in video]) if not isinstance(
                video, np.ndarray) else video
            if array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(f"video must be [F, H, W, 3], got shape {array.shape}")
            scale = 255.0 if array.dtype == np.uint8 else 1.0
            frames = torch.from_numpy(np.ascontiguousarray(array)).float().permute(0, 3, 1, 2) / scale * 2 - 1
        if frames.shape[-2:] != (height, width):
            frames = F.interpolate(frames, size=(height, width), mode="bicubic", antialias=True).clamp(-1, 1)
        return frames.permute(1, 0, 2, 3).unsqueeze(0)

    def finish(self, latents: torch.Tensor, output_type: str, return_dict: bool) -> WanPipelineOutput | tuple:
        """Decode target latents (unless ``output_type == "latent"``), free offload hooks, wrap like diffusers."""
        if output_type == "latent":
            frames = latents
        else:
            frames = self.video_processor.postprocess_video(self.decode_latents(latents), output_type=output_type)
        self.maybe_free_model_hooks()
        return WanPipelineOutput(frames=frames) if return_dict else (frames,)
