"""`vidstyle train vae`: the toyworld Wan VAE (``AutoencoderKLWan``) from scratch on clips and single frames.

The clips are the dataset's raw clips and, with ``stylized``, its stylized clips too.

Loss of a micro-step on pixels ``x`` in [-1, 1]: ``l1_weight * mean|x - x'| + mse_weight * mean (x - x')^2 +
kl_weight * mean KL(q(z|x) || N(0, I))`` (the KL averaged over latent elements), where the decoder sees a
posterior sample ``z``. A share ``image_ratio`` of micro-steps trains on the clips' frames as single images
(Wan's causal VAE encodes an image like a clip's first frame). The export ``OUTPUT/vae`` is an
``AutoencoderKLWan.save_pretrained`` folder whose ``latents_mean`` / ``latents_std`` are measured on the
training clips, so the normalised latents Wan's pipelines use have zero mean and unit variance per channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from diffusers import AutoencoderKLWan

from vidstyle.adapters.serialization import load_strict
from vidstyle.backbones.toyworld import toyworld_vae_config
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample, wan_frame_count
from vidstyle.errors import VidstyleInputError
from vidstyle.training.config import VAETrainConfig
from vidstyle.training.loop import make_accelerator, make_optimizer, run_loop, sample_index

INITIAL_LOGVAR = -6.0


@dataclass
class Clips:
    """Training or eval clips in memory: ``frames`` uint8 ``[N, F, H, W, 3]``, their captions and record ids."""

    frames: torch.Tensor
    captions: list[str]
    ids: list[str]


def load_clips(folder: Path, height: int, width: int, max_frames: int | None = None, limit: int | None = None,
               stylized: bool = False) -> Clips:
    """Decode the raw clips of a dataset folder (the first ``limit`` rows) with their ``t_ns`` captions; with
    ``stylized``, then also each row's stylized clip captioned ``t_sty`` (rows without one add nothing). All clips
    are cut to the shortest ``4k+1`` frame count of the set; references are never read."""
    records = read_manifest(folder).records[:limit]
    if not records:
        raise VidstyleInputError(f"{folder}: no valid samples")
    clips, captions, ids = [], [], []
    for record in records:
        styled = stylized and record.stylized is not None and bool(record.t_sty)
        sample = load_sample(folder, record.model_copy(update={"style_refs": [],
                                                                "stylized": record.stylized if styled else None}),
                             height, width, max_frames)
        clips.append(sample.raw)
        captions.append(record.t_ns)
        ids.append(record.id)
        if styled:
            clips.append(sample.stylized)
            captions.append(record.t_sty)
            ids.append(f"{record.id}/stylized")
    frames = wan_frame_count(min(len(c) for c in clips))
    return Clips(torch.from_numpy(np.stack([c[:frames] for c in clips])), captions, ids)


def to_pixels(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, F, H, W, 3]`` -> float ``[B, 3, F, H, W]`` in [-1, 1]."""
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """float ``[B, 3, F, H, W]`` in [-1, 1] -> uint8 ``[B, F, H, W, 3]``."""
    return ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).cpu().numpy()


def random_crops(frames: torch.Tensor, crop: int | None, generator: torch.Generator) -> torch.Tensor:
    """A random ``crop x crop`` window of each clip of ``[B, F, H, W, 3]`` (the clip unchanged if None)."""
    if crop is None:
        return frames
    height, width = frames.shape[2:4]
    tops = torch.randint(0, height - crop + 1, (len(frames),), generator=generator).tolist()
    lefts = torch.randint(0, width - crop + 1, (len(frames),), generator=generator).tolist()
    return torch.stack([clip[:, y:y + crop, x:x + crop] for clip, y, x in zip(frames, tops, lefts, strict=True)])


class Reconstruction(torch.nn.Module):
    """The VAE's training forward (one module, so DDP sees encoder and decoder in one call)."""

    def __init__(self, vae: AutoencoderKLWan) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, pixels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``[B, 3, F, H, W]`` -> reconstruction (same shape), posterior mean and log-variance
        ``[B, 16, (F-1)/4+1, H/8, W/8]``; the decoder sees a posterior sample drawn from ``generator``."""
        posterior = self.vae.encode(pixels).latent_dist
        noise = torch.randn(posterior.mean.shape, generator=generator).to(pixels)
        recon = self.vae.decode(posterior.mean + posterior.std * noise).sample
        return recon, posterior.mean, posterior.logvar


def vae_loss(model: Reconstruction, pixels: torch.Tensor, generator: torch.Generator,
             config: VAETrainConfig) -> torch.Tensor:
    """The weighted L1 + MSE + KL loss (scalar) of pixels ``[B, 3, F, H, W]``."""
    recon, mean, logvar = model(pixels, generator)
    kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
    return (config.l1_weight * F.l1_loss(recon, pixels) + config.mse_weight * F.mse_loss(recon, pixels)
            + config.kl_weight * kl)


@torch.no_grad()
def encode_mode(vae: AutoencoderKLWan, frames: torch.Tensor, batch: int = 8) -> torch.Tensor:
    """Un-normalised posterior means ``[N, 16, F_lat, h, w]`` of uint8 clips ``[N, F, H, W, 3]``."""
    device = next(vae.parameters()).device
    return torch.cat([vae.encode(to_pixels(frames[i:i + batch]).to(device)).latent_dist.mode().float().cpu()
                      for i in range(0, len(frames), batch)])


@torch.no_grad()
def reconstruct(vae: AutoencoderKLWan, frames: torch.Tensor, batch: int = 8) -> np.ndarray:
    """uint8 clips ``[N, F, H, W, 3]`` through encoder (posterior mean) and decoder, as uint8 ``[N, F, H, W, 3]``."""
    out = [to_uint8(vae.decode(encode_mode(vae, frames[i:i + batch]).to(next(vae.parameters()).device)).sample)
           for i in range(0, len(frames), batch)]
    return np.concatenate(out)


def reconstruction_metrics(vae: AutoencoderKLWan, frames: torch.Tensor) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM over clips of the reconstructions of uint8 clips ``[N, F, H, W, 3]``."""
    from vidstyle.metrics.fidelity import psnr, ssim

    recon, real = reconstruct(vae, frames), frames.numpy()
    return {"psnr": float(np.mean([psnr(a, b) for a, b in zip(recon, real, strict=True)])),
            "ssim": float(np.mean([ssim(a, b) for a, b in zip(recon, real, strict=True)])), "clips": len(real)}


def set_latent_statistics(vae: AutoencoderKLWan, frames: torch.Tensor) -> None:
    """Store the per-channel mean and std of the posterior means of clips ``[N, F, H, W, 3]`` in the config
    (``latents_mean`` / ``latents_std``), as Wan's pipelines read them to normalise latents."""
    latents = encode_mode(vae, frames).transpose(0, 1).reshape(vae.config.z_dim, -1)
    vae.register_to_config(latents_mean=latents.mean(1).tolist(), latents_std=latents.std(1).clamp_min(1e-3).tolist())


def init_vae_weights(vae: AutoencoderKLWan) -> AutoencoderKLWan:
    """Initialise a fresh VAE for training from scratch (in place).

    Wan's per-position RMS norms do not train from PyTorch's default convolution init at these widths (8
    frames overfit to L1 0.39 in 120 steps, against 0.13 with this init): every convolution gets He-normal
    weights on its spatial fan-in (``std = sqrt(2 / (C_in k_h k_w))``, the fan-in a causal convolution has on
    a first frame) and zero biases. The posterior starts nearly deterministic (log-variance bias
    ``INITIAL_LOGVAR``; unit posterior noise would drown the initial ~0.2 latents); the KL term then sets it.
    """
    with torch.no_grad():
        for module in vae.modules():
            if isinstance(module, torch.nn.Conv2d | torch.nn.Conv3d):
                weight = module.weight
                fan_in = (weight[0, :, 0] if weight.dim() == 5 else weight[0]).numel()
                torch.nn.init.normal_(weight, std=(2.0 / fan_in) ** 0.5)
                torch.nn.init.zeros_(module.bias)
        vae.quant_conv.bias[vae.config.z_dim:] = INITIAL_LOGVAR
    return vae


def build_vae(config: VAETrainConfig) -> AutoencoderKLWan:
    """A fresh toyworld VAE of the config's size (seeded by the config), or ``init_vae`` loaded."""
    if config.init_vae is not None:
        return load_vae(config.init_vae)
    set_seed(config.seed)
    vae = AutoencoderKLWan(**toyworld_vae_config(config.base_dim, tuple(config.dim_mult), config.num_res_blocks,
                                                 config.is_residual))
    return init_vae_weights(vae)


def vae_folder(path: Path) -> Path:
    """``path`` if it is an ``AutoencoderKLWan`` folder, else its ``vae`` subfolder (a pipeline directory)."""
    path = Path(path)
    folder = path / "vae" if (path / "vae" / "config.json").is_file() else path
    if not (folder / "config.json").is_file():
        raise VidstyleInputError(f"{path} is not a VAE folder (no config.json) nor a pipeline folder with vae/")
    return folder


def load_vae(path: Path) -> AutoencoderKLWan:
    """An ``AutoencoderKLWan`` folder, or the ``vae`` folder of a diffusers pipeline directory (float32)."""
    folder = vae_folder(path)
    try:
        return AutoencoderKLWan.from_pretrained(folder, dtype=torch.float32)
    except (OSError, ValueError) as err:
        raise VidstyleInputError(f"could not load the VAE from {path}: {str(err).splitlines()[0]}") from None


class VAETrainer:
    """Trains a toyworld ``AutoencoderKLWan``; exports ``OUTPUT/vae`` (and ``OUTPUT/eval.json`` with an eval set)."""

    def __init__(self, config: VAETrainConfig) -> None:
        if config.gradient_checkpointing:
            raise VidstyleInputError("gradient_checkpointing: AutoencoderKLWan does not support it")
        self.config = config
        self.clips = load_clips(config.dataset, config.height, config.width, config.max_frames,
                                stylized=config.stylized)
        self.accelerator = make_accelerator(config)
        self.vae = build_vae(config).train()
        optimizer, scheduler = make_optimizer(config, list(self.vae.parameters()))
        self.model, self.optimizer, self.scheduler = self.accelerator.prepare(
            Reconstruction(self.vae), optimizer, scheduler)

    def batch(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        """Pixels ``[B, 3, F, c, c]`` of micro-step ``micro``: a random ``crop`` window of each of ``batch_size``
        clips, or of all their frames as ``B * F`` single images ``[B * F, 3, 1, c, c]`` on an image step."""
        size, count = self.config.batch_size, len(self.clips.frames)
        frames = self.clips.frames[[sample_index(micro * size + j, count, self.config.seed) for j in range(size)]]
        if float(torch.rand((), generator=generator)) < self.config.image_ratio:
            frames = frames.reshape(-1, 1, *frames.shape[2:])
        return to_pixels(random_crops(frames, self.config.crop, generator)).to(self.accelerator.device)

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        return vae_loss(self.model, self.batch(micro, generator), generator, self.config)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.vae.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_strict(self.vae.state_dict(), state)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        """Run to ``max_steps``; returns the exported VAE folder ``OUTPUT/vae``."""
        run_loop(self.config, self.accelerator, self.model, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name="vae")
        export = Path(self.config.output_dir) / "vae"
        if self.accelerator.is_main_process:
            self.vae.eval()
            set_latent_statistics(self.vae, self.clips.frames[:64])
            self.vae.save_pretrained(export)
            if self.config.eval_dataset is not None:
                held = load_clips(self.config.eval_dataset, self.config.height, self.config.width,
                                  self.config.max_frames, limit=self.config.eval_samples)
                metrics = reconstruction_metrics(self.vae, held.frames)
                (Path(self.config.output_dir) / "eval.json").write_text(json.dumps(metrics, indent=1) + "\n")
        self.accelerator.end_training()
        return export
