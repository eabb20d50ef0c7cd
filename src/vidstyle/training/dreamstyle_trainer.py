"""`vidstyle train dreamstyle`: the token-specific LoRA on a frozen Wan I2V transformer, with accelerate.

Every random draw of micro-step ``m`` (sample order, condition type, sigma, noise) comes from a
generator seeded by ``(seed, m, rank)``, and the data position is the step count, so a resumed run
repeats exactly what an uninterrupted one does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig, read_adapter_files
from vidstyle.errors import VidstyleInputError
from vidstyle.training.cache import CachedDataset
from vidstyle.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from vidstyle.training.config import DreamStyleTrainConfig
from vidstyle.training.dreamstyle_objective import dreamstyle_loss, sample_condition


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
        Path(config.output_dir).mkdir(parents=True, exist_ok=True)  # every rank may write there
        # each step trains only the up matrices of the token types its condition uses, and ranks may draw
        # different conditions: DDP must expect unused parameters
        self.accelerator = Accelerator(gradient_accumulation_steps=config.gradient_accumulation,
                                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
                                       mixed_precision=config.mixed_precision,
                                       log_with="tensorboard" if config.tensorboard else None,
                                       project_dir=str(config.output_dir))
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
        optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
        warmup = config.warmup_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / (warmup + 1)))
        self.transformer, self.optimizer, self.scheduler = self.accelerator.prepare(transformer, optimizer, scheduler)

    def _sample_index(self, micro: int) -> int:
        """The sample of global micro-step ``micro``: a fresh seeded permutation every epoch."""
        epoch, position = divmod(micro, len(self.dataset))
        order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.config.seed + epoch))
        return int(order[position])

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        """Run to ``max_steps`` (continuing from the latest checkpoint with ``resume``); returns the
        exported adapter directory (``OUTPUT/adapter``)."""
        cfg, acc = self.config, self.accelerator
        start = 0
        if resume and (found := latest_checkpoint(cfg.output_dir)) is not None:
            weights, state = load_checkpoint(found, self.optimizer, self.scheduler)
            self.adapter.load_state_dict(weights)
            start = state["step"]
        if cfg.tensorboard:
            acc.init_trackers("dreamstyle")
        world, rank, accum = acc.num_processes, acc.process_index, cfg.gradient_accumulation
        with _progress(not acc.is_main_process) as progress:
            task = progress.add_task("training", total=cfg.max_steps, completed=start, loss=float("nan"))
            for step in range(start, cfg.max_steps):
                total = 0.0
                for a in range(accum):
                    micro = (step * accum + a) * world + rank
                    generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + micro)
                    sample = self.dataset[self._sample_index(micro)].to(acc.device)
                    condition = sample_condition(cfg.condition_ratio, generator)
                    with acc.accumulate(self.transformer):
                        loss = dreamstyle_loss(self.transformer, sample, condition, generator, shift=cfg.flow_shift)
                        acc.backward(loss)
                        self.optimizer.step()
                        self.scheduler.step()
                        self.optimizer.zero_grad()
                    total += loss.item() / accum
                progress.update(task, completed=step + 1, loss=total)
                if cfg.tensorboard:
                    acc.log({"loss": total, "lr": self.scheduler.get_last_lr()[0]}, step=step + 1)
                if (step + 1) % cfg.checkpoint_every == 0 and acc.is_main_process:
                    save_checkpoint(cfg.output_dir, step + 1, self.adapter.state_dict(), self.optimizer,
                                    self.scheduler, {"stage": cfg.stage})
                if on_step is not None:
                    on_step(step + 1, total)
        acc.wait_for_everyone()
        export = Path(cfg.output_dir) / "adapter"
        if acc.is_main_process:
            self.adapter.save(export)
        acc.end_training()
        return export


def _progress(disable: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.speed} it/s"),
                    TimeElapsedColumn(), disable=disable, transient=True)
