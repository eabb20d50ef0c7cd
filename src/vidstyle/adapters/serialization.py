"""One home for how trained parts live on disk: ``NAME.safetensors`` + ``NAME.json`` in a directory.

The JSON holds a ``format`` tag, a version and the part's config; writes are atomic (temporary file,
then rename); reads validate and turn every problem into a one-line :class:`VidstyleInputError`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vidstyle.errors import VidstyleInputError


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(target: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``target``; nothing is left behind on failure.

    The file gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_directory(tmp: Path, target: Path) -> None:
    """Move the finished folder ``tmp`` to ``target``, replacing an empty folder or one the caller has checked
    may go; the old one is renamed aside first and restored if the move fails."""
    old = None
    if target.is_dir():
        if any(target.iterdir()):
            old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
            os.replace(target, old)
        else:
            target.rmdir()
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_part(directory: str | os.PathLike, name: str, fmt: str, tensors: dict[str, torch.Tensor],
              config: dict[str, Any]) -> Path:
    """Write ``name.safetensors`` and ``name.json`` (``{"format": fmt, "version": 1, **config}``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    content = json.dumps({"format": fmt, "version": 1, **config}, indent=2)
    atomic_write(directory / f"{name}.safetensors", lambda p: save_file(tensors, p, metadata={"format": fmt}))
    atomic_write(directory / f"{name}.json", lambda p: Path(p).write_text(content))
    return directory


def read_part(path: str | os.PathLike, name: str, fmt: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a part saved by :func:`save_part` from its directory (or its ``.safetensors`` file).

    Returns ``(tensors, config)`` with the format tag and version removed from the config.
    """
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    weights_path = path if path.is_file() else directory / f"{name}.safetensors"
    config_path = directory / f"{name}.json"
    if not path.exists():
        raise VidstyleInputError(f"not found: {path}")
    if not weights_path.is_file() or not config_path.is_file():
        raise VidstyleInputError(f"{path} is not a valid {fmt}: expected {name}.safetensors and {name}.json")
    try:
        config = json.loads(config_path.read_text())
        if not isinstance(config, dict) or config.pop("format", None) != fmt:
            raise ValueError(f"format is not {fmt}")
        config.pop("version", None)
    except (ValueError, UnicodeDecodeError) as err:
        raise VidstyleInputError(f"{config_path} is not a valid {fmt} config: {err}") from None
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as err:
        raise VidstyleInputError(f"{weights_path} is not a valid safetensors file: {err}") from None
    return tensors, config


def load_strict(targets: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into ``targets`` (same keys, same shapes) or raise ``ValueError`` saying why."""
    missing, extra = targets.keys() - state.keys(), state.keys() - targets.keys()
    if missing or extra:
        raise ValueError(f"keys do not match (missing {len(missing)}, unexpected {len(extra)}, "
                         f"e.g. {sorted(missing or extra)[0]})")
    for key, target in targets.items():
        if state[key].shape != target.shape:
            raise ValueError(f"{key} has shape {tuple(state[key].shape)}, expected {tuple(target.shape)}")
    with torch.no_grad():
        for key, target in targets.items():
            target.copy_(state[key].to(target.dtype))
