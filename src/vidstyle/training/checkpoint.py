"""Training checkpoints: trained weights (safetensors), optimizer, LR scheduler, RNG states, data position.

``OUTPUT/checkpoints/step-000120/`` holds ``weights.safetensors``, ``optimizer.pt``, ``scheduler.pt``,
``rng.pt`` and ``state.json``; it is written to a temporary directory and renamed, so a kill never
leaves a half checkpoint. ``.pt`` files hold only tensors and plain containers and are read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file


def checkpoint_dir(output: Path, step: int) -> Path:
    return Path(output) / "checkpoints" / f"step-{step:06d}"


def latest_checkpoint(output: Path) -> Path | None:
    folder = Path(output) / "checkpoints"
    found = sorted(p for p in folder.glob("step-*") if (p / "state.json").is_file()) if folder.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(output: Path, step: int, weights: dict[str, torch.Tensor], optimizer, scheduler,
                    state: dict[str, Any]) -> Path:
    """Write checkpoint ``step`` atomically; returns its directory."""
    final = checkpoint_dir(output, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in weights.items()}, tmp / "weights.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save({"torch": torch.get_rng_state(), "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
                "python": list(random.getstate()[1])}, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, **state}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def load_checkpoint(folder: Path, optimizer, scheduler) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore optimizer, scheduler and RNG states; return ``(weights, state)`` for the caller to apply."""
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(folder / "scheduler.pt", weights_only=True))
    rng = torch.load(folder / "rng.pt", weights_only=True)
    torch.set_rng_state(rng["torch"])
    np.random.set_state(("MT19937", rng["numpy"].numpy().astype(np.uint32), 624, 0, 0.0))
    random.setstate((3, tuple(rng["python"]), None))
    return load_file(folder / "weights.safetensors"), json.loads((folder / "state.json").read_text())
