"""`vidstyle train controlnet`: StyleMaster's tile ControlNet on a frozen Wan T2V transformer.

The ControlNet learns to rebuild a video from its gray tile (luma, 8x down/up-sampled; or the RGB tile,
the paper's ablation, chosen by the cache and the config's ``tile``) and caption:
any video dataset works, no stylized pairs are needed. At inference the style module changes the
look while the ControlNet keeps the structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed

from vidstyle.adapters.gray_tile import tile_control
from vidstyle.adapters.serialization import load_strict
from vidstyle.adapters.tile_controlnet import CONTROL_LATENTS_KEY, TileControlNetConfig, WanTileControlNet
from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset
from vidstyle.training.config import ControlNetTrainConfig
from vidstyle.training.flow_matching import flow_matching_draw
from vidstyle.training.loop import load_frozen_transformer, make_accelerator, make_optimizer, run_loop, sample_index


@dataclass
class ControlSample:
    """``video``, ``control``: ``[1, 16, F_lat, h, w]`` latents of a video and of its tile;
    ``text``: ``[1, 512, text_dim]``."""

    video: torch.Tensor
    control: torch.Tensor
    text: torch.Tensor

    def to(self, device: torch.device) -> ControlSample:
        return ControlSample(self.video.to(device), self.control.to(device), self.text.to(device))


@torch.no_grad()
def encode_control(pipe, sample, height: int, width: int, tile: str = "gray") -> ControlSample:
    """The raw video's latents, the latents of its ``tile`` (gray or rgb) tile, and the ``t_ns`` embedding."""
    pixels = pipe.video_to_pixels(sample.raw, height, width)
    text = pipe.encode_prompt(sample.t_ns, do_classifier_free_guidance=False, max_sequence_length=512,
                              device=pipe._execution_device)[0]
    return ControlSample(pipe.encode_pixels(pixels), pipe.encode_pixels(tile_control(pixels, tile)), text)


def controlnet_loss(transformer, sample: ControlSample, generator: torch.Generator, shift: float = 3.0,
                    num_train_timesteps: int = 1000) -> torch.Tensor:
    """Flow matching on every frame with the control latents in ``attention_kwargs`` (scalar MSE)."""
    x0 = sample.video.float()
    sigma, eps = flow_matching_draw(x0, generator, shift)
    dtype = next(transformer.parameters()).dtype
    timestep = torch.full((1,), sigma * num_train_timesteps, device=x0.device)
    pred = transformer(hidden_states=((1 - sigma) * x0 + sigma * eps).to(dtype), timestep=timestep,
                       encoder_hidden_states=sample.text.to(dtype),
                       attention_kwargs={CONTROL_LATENTS_KEY: sample.control.to(dtype)}, return_dict=False)[0]
    return F.mse_loss(pred.float(), eps - x0)


class ControlNetTrainer:
    """Trains a :class:`WanTileControlNet`; exports ``OUTPUT/tile_controlnet`` (the pipelines' format)."""

    def __init__(self, config: ControlNetTrainConfig, transformer=None) -> None:
        self.config = config
        self.dataset = CachedDataset(config.cache, ControlSample, kind="controlnet")
        cached_tile = self.dataset.settings.get("tile", "gray")  # caches from before tile kinds are gray
        if cached_tile != config.tile:
            raise VidstyleInputError(f"{config.cache} holds {cached_tile} tiles but the config asks for tile: "
                                     f"{config.tile} (vidstyle cache --kind controlnet --tile {config.tile})")
        self.accelerator = make_accelerator(config)
        transformer = transformer if transformer is not None else load_frozen_transformer(config, "tiny-t2v")
        transformer.requires_grad_(False)
        set_seed(config.seed)
        net_config = TileControlNetConfig(block_stride=config.block_stride, tile=config.tile)
        self.controlnet = WanTileControlNet(transformer, net_config)
        self.controlnet.attach(transformer)
        if config.gradient_checkpointing:
            self.controlnet.enable_gradient_checkpointing(transformer)
        self.params = [p for p in self.controlnet.parameters() if p.requires_grad]
        optimizer, scheduler = make_optimizer(config, self.params)
        # the ControlNet runs from hooks inside the transformer's forward, where a DDP wrapper would never
        # see it: it stays unwrapped and its gradients are averaged across ranks after each backward
        self.transformer = transformer.to(self.accelerator.device)
        self.controlnet.to(self.accelerator.device)
        self.optimizer, self.scheduler = self.accelerator.prepare(optimizer, scheduler)

    def _average_gradients(self) -> None:
        if self.accelerator.num_processes > 1:
            for p in self.params:
                if p.grad is not None:
                    p.grad = self.accelerator.reduce(p.grad, reduction="mean")

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        sample = self.dataset[sample_index(micro, len(self.dataset), self.config.seed)].to(self.accelerator.device)
        return controlnet_loss(self.transformer, sample, generator, shift=self.config.flow_shift)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.controlnet.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_strict(self.controlnet.state_dict(), state)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        run_loop(self.config, self.accelerator, self.controlnet, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name="controlnet",
                 after_backward=self._average_gradients)
        export = Path(self.config.output_dir) / "tile_controlnet"
        if self.accelerator.is_main_process:
            self.controlnet.save_pretrained(export)
        self.accelerator.end_training()
        return export
