"""`vidstyle train base`: a toyworld Wan transformer (I2V or T2V) from scratch by flow matching on a frozen VAE.

Once, at start, every raw clip (with ``stylized``, also every stylized clip) is encoded (:func:`encode_clips`)
with the frozen components of the pipeline the model is exported in, through that pipeline's own methods:
normalised VAE posterior means of the clip, its caption (``t_ns``; ``t_sty`` for a stylized clip) through
the tiny UMT5 (padded to 512 tokens) and the empty prompt (the CFG negative); for I2V
also the 20 condition channels of ``WanImageToVideoPipeline.prepare_latents`` (4 mask channels, first latent
frame 1, then the latent of ``[first frame, zeros...]``) and the CLIP states of the first frame
(``encode_image``). Each micro-step takes ``batch_size`` clips, a noise level and noise per clip from the
shifted flow-matching schedule (``x_t = (1 - s) x0 + s eps``, target ``eps - x0``, MSE over all frames) and
swaps the caption for the empty prompt with probability ``text_dropout``. The export ``OUTPUT/pipeline`` is a
diffusers pipeline folder: the trained transformer, the VAE, the tiny encoders and a flow-match scheduler.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from diffusers import WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel
from PIL import Image

from vidstyle.adapters.serialization import load_strict
from vidstyle.backbones.toyworld import build_toyworld_components, toyworld_transformer_config
from vidstyle.errors import VidstyleInputError
from vidstyle.training.config import BaseTrainConfig
from vidstyle.training.flow_matching import flow_matching_draw
from vidstyle.training.loop import make_accelerator, make_optimizer, run_loop, sample_index
from vidstyle.training.vae_trainer import (
    Clips,
    load_clips,
    load_vae,
    to_pixels,
    vae_folder,
)

PIPELINES = {"i2v": WanImageToVideoPipeline, "t2v": WanPipeline}
ENCODED_NAME = "encoded.pt"


@dataclass
class EncodedClips:
    """The training set as the transformer sees it (``N`` clips, latent size ``F_lat x h x w``).

    - ``latents``: ``[N, 16, F_lat, h, w]`` normalised VAE latents of the clips;
    - ``text``: ``[N, 512, text_dim]`` caption embeddings; ``empty_text``: ``[1, 512, text_dim]``;
    - ``condition`` (I2V): ``[N, 20, F_lat, h, w]`` mask + first-frame condition channels;
    - ``image`` (I2V): ``[N, T, image_dim]`` CLIP states of the first frames.
    """

    latents: torch.Tensor
    text: torch.Tensor
    empty_text: torch.Tensor
    condition: torch.Tensor | None = None
    image: torch.Tensor | None = None


def first_frames(clips: torch.Tensor) -> list[Image.Image]:
    """The first frames of uint8 clips ``[B, F, H, W, 3]`` as PIL images."""
    return [Image.fromarray(frame.numpy()) for frame in clips[:, 0]]


@torch.no_grad()
def encode_batch(pipe, clips: torch.Tensor, captions: list[str]) -> EncodedClips:
    """Encode uint8 clips ``[B, F, H, W, 3]`` and their captions with ``pipe``'s own methods (see module doc)."""
    vae, (count, frames, height, width) = pipe.vae, clips.shape[:4]
    device = next(vae.parameters()).device
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    latents = (vae.encode(to_pixels(clips).to(device)).latent_dist.mode().float().cpu() - mean) / std
    text = pipe.encode_prompt(captions, do_classifier_free_guidance=False, max_sequence_length=512,
                              device=device)[0].cpu()
    empty = pipe.encode_prompt("", do_classifier_free_guidance=False, max_sequence_length=512, device=device)[0]
    encoded = EncodedClips(latents, text, empty.cpu())
    if isinstance(pipe, WanImageToVideoPipeline):
        images = first_frames(clips)
        pixels = pipe.video_processor.preprocess(images, height=height, width=width).to(device, torch.float32)
        zeros = torch.zeros_like(latents[:1], device=device)
        # one clip per call: prepare_latents repeats a single image's condition over its batch
        encoded.condition = torch.cat([pipe.prepare_latents(pixels[i:i + 1], 1, vae.config.z_dim, height, width,
                                                            frames, torch.float32, device, None, zeros)[1].cpu()
                                       for i in range(count)])
        encoded.image = pipe.encode_image(images, device).cpu()
    return encoded


def encode_clips(pipe, clips: Clips, batch: int = 16) -> EncodedClips:
    """:func:`encode_batch` over the whole set, ``batch`` clips at a time."""
    parts = [encode_batch(pipe, clips.frames[i:i + batch], clips.captions[i:i + batch])
             for i in range(0, len(clips.captions), batch)]
    fields = {k: None if getattr(parts[0], k) is None else torch.cat([getattr(p, k) for p in parts])
              for k in ("latents", "text", "condition", "image")}
    return EncodedClips(**fields, empty_text=parts[0].empty_text)


def load_or_encode(config: BaseTrainConfig, pipe) -> EncodedClips:
    """The encoded training set, cached in ``OUTPUT/encoded.pt`` (reused while the settings, the manifest and
    the VAE files are unchanged)."""
    keys = ("dataset", "vae", "kind", "height", "width", "max_frames", "encoders_seed", "stylized")
    settings = {k: str(getattr(config, k)) for k in keys}
    files = [Path(config.dataset) / "manifest.jsonl", *sorted(vae_folder(config.vae).iterdir())]
    settings["files"] = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files if p.is_file()]
    path = Path(config.output_dir) / ENCODED_NAME
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        if saved.pop("settings") == json.dumps(settings):
            return EncodedClips(**saved)
    encoded = encode_clips(pipe, load_clips(config.dataset, config.height, config.width, config.max_frames,
                                            stylized=config.stylized))
    torch.save({**asdict(encoded), "settings": json.dumps(settings)}, path)
    return encoded


def base_loss(transformer, data: EncodedClips, index: list[int], generator: torch.Generator, shift: float,
              text_dropout: float, num_train_timesteps: int = 1000) -> torch.Tensor:
    """Flow-matching MSE (scalar) on clips ``index`` of ``data``: per-clip sigma, noise and caption dropout."""
    x0 = data.latents[index]
    draws = [flow_matching_draw(x0[j], generator, shift) for j in range(len(index))]
    sigma = torch.tensor([s for s, _ in draws]).view(-1, 1, 1, 1, 1)
    eps = torch.stack([e for _, e in draws])
    drop = (torch.rand(len(index), generator=generator) < text_dropout).view(-1, 1, 1)
    text = torch.where(drop, data.empty_text, data.text[index])
    hidden = (1 - sigma) * x0 + sigma * eps
    if data.condition is not None:
        hidden = torch.cat([hidden, data.condition[index]], dim=1)
    device = next(transformer.parameters()).device
    pred = transformer(hidden_states=hidden.to(device), timestep=(sigma.flatten() * num_train_timesteps).to(device),
                       encoder_hidden_states=text.to(device),
                       encoder_hidden_states_image=None if data.image is None else data.image[index].to(device),
                       return_dict=False)[0]
    return F.mse_loss(pred.float(), (eps - x0).to(device))


def build_transformer(config: BaseTrainConfig) -> WanTransformer3DModel:
    """A fresh toyworld transformer of the config's size (seeded by the config), or ``init_transformer``."""
    if config.init_transformer is None:
        set_seed(config.seed)
        return WanTransformer3DModel(**toyworld_transformer_config(
            config.kind, config.num_attention_heads, config.attention_head_dim, config.ffn_dim, config.num_layers))
    path = Path(config.init_transformer)
    sub = "transformer" if (path / "transformer" / "config.json").is_file() else None
    try:
        transformer = WanTransformer3DModel.from_pretrained(path, subfolder=sub, dtype=torch.float32)
    except (OSError, ValueError) as err:
        raise VidstyleInputError(f"could not load init_transformer {path}: {str(err).splitlines()[0]}") from None
    if (transformer.config.in_channels == 36) != (config.kind == "i2v"):
        raise VidstyleInputError(f"init_transformer {path} is not a {config.kind} transformer")
    return transformer


class BaseTrainer:
    """Trains a toyworld Wan transformer on a frozen VAE; exports ``OUTPUT/pipeline``."""

    def __init__(self, config: BaseTrainConfig) -> None:
        self.config = config
        vae = load_vae(config.vae)
        self.accelerator = make_accelerator(config)
        transformer = build_transformer(config).train()
        if config.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        self.components = build_toyworld_components(config.kind, seed=config.encoders_seed,
                                                    flow_shift=config.flow_shift, vae=vae)
        self.data = load_or_encode(config, PIPELINES[config.kind](**self.components))
        self.components["transformer"] = transformer
        optimizer, scheduler = make_optimizer(config, list(transformer.parameters()))
        self.transformer, self.optimizer, self.scheduler = self.accelerator.prepare(transformer, optimizer, scheduler)

    @property
    def model(self) -> WanTransformer3DModel:
        """The trained transformer, unwrapped from DDP."""
        return self.components["transformer"]

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        size, count = self.config.batch_size, len(self.data.latents)
        index = [sample_index(micro * size + j, count, self.config.seed) for j in range(size)]
        return base_loss(self.transformer, self.data, index, generator, self.config.flow_shift,
                         self.config.text_dropout)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.model.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_strict(self.model.state_dict(), state)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        """Run to ``max_steps``; returns the exported pipeline folder ``OUTPUT/pipeline``."""
        run_loop(self.config, self.accelerator, self.transformer, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name=f"base {self.config.kind}")
        export = Path(self.config.output_dir) / "pipeline"
        if self.accelerator.is_main_process:
            PIPELINES[self.config.kind](**self.components).save_pretrained(export)
        self.accelerator.end_training()
        return export
