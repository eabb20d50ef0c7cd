"""`vidstyle train motion`: StyleMaster's motion LoRA on still videos, trained with alpha = +1.

Still videos (one frame repeated) teach the LoRA "no motion, photo look"; at inference a negative
alpha (-0.3) pushes away from both. The objective is plain Wan T2V flow matching on all frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed

from vidstyle.adapters.motion_lora import MotionLoRAAdapter, MotionLoRAConfig
from vidstyle.adapters.serialization import load_strict
from vidstyle.training.cache import CachedDataset
from vidstyle.training.config import MotionTrainConfig
from vidstyle.training.flow_matching import flow_matching_draw
from vidstyle.training.loop import load_frozen_transformer, make_accelerator, make_optimizer, run_loop, sample_index


@dataclass
class MotionSample:
    """``still``: ``[1, 16, F_lat, h, w]`` latents of a still video; ``text``: ``[1, 512, text_dim]``."""

    still: torch.Tensor
    text: torch.Tensor

    def to(self, device: torch.device) -> MotionSample:
        return MotionSample(self.still.to(device), self.text.to(device))


@torch.no_grad()
def encode_still(pipe, sample, height: int, width: int, frames: int) -> MotionSample:
    """A still clip of the sample's first raw frame, ``frames`` (4k+1) long, and its ``t_ns`` caption."""
    still = np.repeat(sample.raw[:1], frames, axis=0)
    text = pipe.encode_prompt(sample.t_ns, do_classifier_free_guidance=False, max_sequence_length=512,
                              device=pipe._execution_device)[0]
    return MotionSample(pipe.encode_pixels(pipe.video_to_pixels(still, height, width)), text)


def motion_loss(transformer, sample: MotionSample, generator: torch.Generator, shift: float = 3.0,
                num_train_timesteps: int = 1000) -> torch.Tensor:
    """Flow matching on every frame: ``x_t = (1 - s) x0 + s eps``, target ``eps - x0`` (scalar MSE)."""
    x0 = sample.still.float()
    sigma, eps = flow_matching_draw(x0, generator, shift)
    dtype = next(transformer.parameters()).dtype
    noisy = ((1 - sigma) * x0 + sigma * eps).to(dtype)
    timestep = torch.full((1,), sigma * num_train_timesteps, device=x0.device)
    pred = transformer(hidden_states=noisy, timestep=timestep, encoder_hidden_states=sample.text.to(dtype),
                       return_dict=False)[0]
    return F.mse_loss(pred.float(), eps - x0)


class MotionTrainer:
    """Trains a :class:`MotionLoRAAdapter` at alpha = +1; exports ``OUTPUT/motion_lora`` (alpha saved as -0.3)."""

    def __init__(self, config: MotionTrainConfig, transformer=None) -> None:
        self.config = config
        self.dataset = CachedDataset(config.cache, MotionSample, kind="motion")
        self.accelerator = make_accelerator(config)
        transformer = transformer if transformer is not None else load_frozen_transformer(config, "tiny-t2v")
        transformer.requires_grad_(False)
        set_seed(config.seed)
        if config.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        self.adapter = MotionLoRAAdapter(transformer, MotionLoRAConfig(rank=config.rank, alpha=1.0))
        params = self.adapter.parameters()
        optimizer, scheduler = make_optimizer(config, params)
        self.transformer, self.optimizer, self.scheduler = self.accelerator.prepare(transformer, optimizer, scheduler)

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        sample = self.dataset[sample_index(micro, len(self.dataset), self.config.seed)].to(self.accelerator.device)
        return motion_loss(self.transformer, sample, generator, shift=self.config.flow_shift)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.adapter.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_strict(self.adapter.state_dict(), state)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        run_loop(self.config, self.accelerator, self.transformer, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name="motion")
        export = Path(self.config.output_dir) / "motion_lora"
        if self.accelerator.is_main_process:
            self.adapter.alpha = self.config.inference_alpha
            self.adapter.save(export)
            self.adapter.alpha = 1.0
        self.accelerator.end_training()
        return export
