"""The step loop every trainer shares: accumulation, exact resume, checkpoints, progress, logging.

A trainer supplies ``micro_loss(micro, generator) -> loss`` and its trainable weights
(``state_dict`` / ``load_state_dict``). Micro-step ``m`` of rank ``r`` draws everything random from a
generator seeded by ``(seed, m)`` with ``m`` counting across ranks, so a resumed run repeats what an
uninterrupted one does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidstyle.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from vidstyle.training.config import TrainConfig


def run_loop(config: TrainConfig, accelerator: Accelerator, model: torch.nn.Module, optimizer, scheduler,
             micro_loss: Callable[[int, torch.Generator], torch.Tensor],
             state_dict: Callable[[], dict[str, torch.Tensor]],
             load_state_dict: Callable[[dict[str, torch.Tensor]], None],
             resume: bool = False, on_step: Callable[[int, float], None] | None = None,
             name: str = "training", after_backward: Callable[[], None] | None = None) -> None:
    """Optimise to ``config.max_steps`` (from the latest checkpoint when ``resume``).

    ``after_backward`` runs after every backward pass, e.g. to all-reduce gradients of parameters that
    DDP cannot see (modules run from hooks rather than through the wrapped forward).
    """
    start = 0
    if resume and (found := latest_checkpoint(config.output_dir)) is not None:
        weights, state = load_checkpoint(found, optimizer, scheduler)
        load_state_dict(weights)
        start = state["step"]
    if config.tensorboard:
        accelerator.init_trackers(name)
    world, rank, accum = accelerator.num_processes, accelerator.process_index, config.gradient_accumulation
    with progress(not accelerator.is_main_process) as bar:
        task = bar.add_task(name, total=config.max_steps, completed=start, loss=float("nan"))
        for step in range(start, config.max_steps):
            total = 0.0
            for a in range(accum):
                micro = (step * accum + a) * world + rank
                generator = torch.Generator().manual_seed(config.seed * 1_000_003 + micro)
                with accelerator.accumulate(model):
                    loss = micro_loss(micro, generator)
                    accelerator.backward(loss)
                    if after_backward is not None:
                        after_backward()
                    optimizer.step()
                    if accelerator.sync_gradients:  # once per optimizer step, whatever the process count
                        scheduler.step()
                    optimizer.zero_grad()
                total += loss.item() / accum
            bar.update(task, completed=step + 1, loss=total)
            if config.tensorboard:
                accelerator.log({"loss": total, "lr": scheduler.get_last_lr()[0]}, step=step + 1)
            if (step + 1) % config.checkpoint_every == 0 and accelerator.is_main_process:
                save_checkpoint(config.output_dir, step + 1, state_dict(), optimizer, scheduler, {"name": name})
            if on_step is not None:
                on_step(step + 1, total)
    accelerator.wait_for_everyone()


def make_accelerator(config: TrainConfig, find_unused_parameters: bool = False) -> Accelerator:
    """An Accelerator for ``config`` (output directory created on every rank)."""
    from accelerate.utils import DistributedDataParallelKwargs

    Path(config.output_dir).mkdir(parents=True, exist_ok=True)
    return Accelerator(gradient_accumulation_steps=config.gradient_accumulation, step_scheduler_with_optimizer=False,
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters)],
                       mixed_precision=config.mixed_precision,
                       log_with="tensorboard" if config.tensorboard else None, project_dir=str(config.output_dir))


def lr_factor(step: int, max_steps: int, warmup_steps: int, cooldown_steps: int) -> float:
    """The learning rate of optimizer step ``step`` (from 0) as a share of the configured one: a linear warm-up
    over ``warmup_steps``, constant, then a linear fall to 0 over the last ``cooldown_steps`` (0: none)."""
    cooldown = (max_steps - step) / cooldown_steps if cooldown_steps else 1.0
    return max(0.0, min(1.0, (step + 1) / (warmup_steps + 1), cooldown))


def make_optimizer(config: TrainConfig, params: list[torch.nn.Parameter]):
    """AdamW and its :func:`lr_factor` schedule (stepped once per optimizer step by :func:`run_loop`);
    ``params`` are made trainable (requires_grad)."""
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(
        step, config.max_steps, config.warmup_steps, config.cooldown_steps))


def progress(disable: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.speed} it/s"),
                    TimeElapsedColumn(), disable=disable, transient=True)


def sample_index(micro: int, count: int, seed: int) -> int:
    """The dataset index of global micro-step ``micro``: a fresh seeded permutation every epoch."""
    epoch, position = divmod(micro, count)
    return int(torch.randperm(count, generator=torch.Generator().manual_seed(seed + epoch))[position])


def load_frozen_transformer(config, tiny_preset: str):
    """The base transformer of a config with ``preset``/``model``: built offline for ``tiny_preset``, else the
    ``transformer`` folder of a hub id or local diffusers directory (bf16 under bf16 mixed precision)."""
    from vidstyle.errors import VidstyleInputError

    if config.model is None and config.preset == tiny_preset:
        from vidstyle.backbones import build_tiny_components

        return build_tiny_components("i2v" if tiny_preset == "tiny" else "t2v")["transformer"]
    from diffusers import WanTransformer3DModel

    from vidstyle.backbones import get_preset

    source = config.model or get_preset(config.preset).hub_id
    dtype = torch.bfloat16 if config.mixed_precision == "bf16" else torch.float32
    try:
        return WanTransformer3DModel.from_pretrained(source, subfolder="transformer", dtype=dtype)
    except (OSError, ValueError) as err:
        raise VidstyleInputError(f"could not load transformer from {source}: {str(err).splitlines()[0]}") from None
