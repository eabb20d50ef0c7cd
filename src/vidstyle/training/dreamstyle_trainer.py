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

from vidstyle.adapters.call_context import TOKEN_TYPES
from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig, read_adapter_files
from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset
from vidstyle.training.config import DreamStyleTrainConfig
from vidstyle.training.dreamstyle_objective import dreamstyle_loss, sample_condition
from vidstyle.training.loop import load_frozen_transformer, make_accelerator, make_optimizer, run_loop, sample_index


class DreamStyleTrainer:
    """Trains a :class:`TokenLoRAAdapter`; ``transformer`` may be passed in (tests, notebooks)."""

    def __init__(self, config: DreamStyleTrainConfig, transformer=None) -> None:
        self.config = config
        self.dataset = CachedDataset(config.cache)
        # each step trains only the up matrices of the token types its condition uses, and ranks may draw
        # different conditions: DDP must expect unused parameters
        self.accelerator = make_accelerator(config, find_unused_parameters=True)
        transformer = transformer if transformer is not None else load_frozen_transformer(config, "tiny")
        transformer.requires_grad_(False)
        set_seed(config.seed)  # the adapter's initial A matrices come from the config's seed
        if config.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        types = TOKEN_TYPES if config.token_specific else ("video",)
        self.adapter = TokenLoRAAdapter(transformer, TokenLoRAConfig(rank=config.rank, token_types=types,
                                                                     targets=tuple(config.targets)))
        if config.init_adapter is not None:  # SFT starts from the CT adapter
            weights, saved = read_adapter_files(config.init_adapter)
            if saved.rank != config.rank:
                raise VidstyleInputError(f"init_adapter has rank {saved.rank}, the config says {config.rank}")
            if saved.targets != tuple(config.targets):
                raise VidstyleInputError(f"init_adapter wraps {list(saved.targets)}, the config says "
                                         f"{list(config.targets)}")
            if tuple(saved.token_types) != types:
                raise VidstyleInputError(f"init_adapter has token types {list(saved.token_types)}, the config "
                                         f"(token_specific: {config.token_specific}) needs {list(types)}")
            self.adapter.load_state_dict(weights)
        params = self.adapter.parameters()
        optimizer, scheduler = make_optimizer(config, params)
        self.transformer, self.optimizer, self.scheduler = self.accelerator.prepare(transformer, optimizer, scheduler)

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        sample = self.dataset[sample_index(micro, len(self.dataset), self.config.seed)].to(self.accelerator.device)
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
