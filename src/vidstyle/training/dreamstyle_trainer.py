"""`vidstyle train dreamstyle`: the token-specific LoRA on a frozen Wan I2V transformer, with accelerate.

Every random draw of micro-step ``m`` (sample order, condition type, sigma, noise) comes from a
generator seeded by ``(seed, m, rank)``, and the data position is the step count, so a resumed run
repeats exactly what an uninterrupted one does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from accelerate.utils import set_seed

from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig, read_adapter_files
from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset
from vidstyle.training.config import DreamStyleTrainConfig
from vidstyle.training.dreamstyle_objective import dreamstyle_loss, sample_condition
from vidstyle.training.loop import make_accelerator, make_optimizer, run_loop


def load_i2v_transformer(config: DreamStyleTrainConfig):
    """The frozen base transformer: the offline ``tiny`` one, or a checkpoint's ``transformer`` folder."""
    if config.model is None and config.preset == "tiny":
        from vidstyle.backbones import build_tiny_components

        return build_tiny_components("i2v")["transformer"]
    from diffusers import WanTransformer3DModel

    from vidstyle.backbones import get_preset

    source = config.model or get_preset(config.preset).hub_id
    dtype = torch.bfloat16 if config.mixed_precision == "bf16" else torch.float32
    try:
        return WanTransformer3DModel.from_pretrained(source, subfolder="transformer", dtype=dtype)
    except (OSError, ValueError) as err:
        raise VidstyleInputError(f"could not load transformer from {source}: {str(err).splitlines()[0]}") from None


class DreamStyleTrainer:
    """Trains a :class:`TokenLoRAAdapter`; ``transformer`` may be passed in (tests, notebooks)."""

    def __init__(self, config: DreamStyleTrainConfig, transformer=None) -> None:
        self.config = config
        self.dataset = CachedDataset(config.cache)
        # each step trains only the up matrices of the token types its condition uses, and ranks may draw
        # different conditions: DDP must expect unused parameters
        self.accelerator = make_accelerator(config, find_unused_parameters=True)
        transformer = transformer if transformer is not None else load_i2v_transformer(config)
        transformer.requires_grad_(False)
        set_seed(config.seed)  # the adapter's initial A matrices come from the config's seed
        if config.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        self.adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=config.rank))
        if config.init_adapter is not None:  # SFT starts from the CT adapter
            weights, saved = read_adapter_files(config.init_adapter)
            if saved.rank != config.rank:
                raise VidstyleInputError(f"init_adapter has rank {saved.rank}, the config says {config.rank}")
            self.adapter.load_state_dict(weights)
        params = self.adapter.parameters()
        for p in params:
            p.requires_grad_(True)
        optimizer, scheduler = make_optimizer(config, params)
        self.transformer, self.optimizer, self.scheduler = self.accelerator.prepare(transformer, optimizer, scheduler)

    def _sample_index(self, micro: int) -> int:
        """The sample of global micro-step ``micro``: a fresh seeded permutation every epoch."""
        epoch, position = divmod(micro, len(self.dataset))
        order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.config.seed + epoch))
        return int(order[position])

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        sample = self.dataset[self._sample_index(micro)].to(self.accelerator.device)
        condition = sample_condition(self.config.condition_ratio, generator)
        return dreamstyle_loss(self.transformer, sample, condition, generator, shift=self.config.flow_shift)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        """Run to ``max_steps`` (continuing from the latest checkpoint with ``resume``); returns the
        exported adapter directory (``OUTPUT/adapter``)."""
        run_loop(self.config, self.accelerator, self.transformer, self.optimizer, self.scheduler, self.micro_loss,
                 self.adapter.state_dict, self.adapter.load_state_dict, resume, on_step, name="dreamstyle")
        export = Path(self.config.output_dir) / "adapter"
        if self.accelerator.is_main_process:
            self.adapter.save(export)
        self.accelerator.end_training()
        return export
