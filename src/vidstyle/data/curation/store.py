"""Files of a curation folder: atomic writes, write-once stage outputs, the folder lock, lossless frame files.

Every file appears complete or not at all (written next to its place, then renamed). Stage outputs that several
shard processes may make at the same time (a video's raw frames and caption, a style's references) are published
with :func:`write_once`: the first finished copy wins and later ones are dropped, so every process reads the same.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

LOCK_NAME = ".curation.lock"


def _temp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _write_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_for(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and ``os.replace`` (replaces an existing file)."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_once(path: Path, data: bytes) -> None:
    """Publish ``data`` at ``path`` unless a file is already there (then it is kept): the first writer wins."""
    if path.exists():
        return
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)  # fails if another process published first
    except FileExistsError:
        pass
    except OSError:  # a filesystem without hard links: fall back to a plain atomic rename
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def json_bytes(value: object) -> bytes:
    """Stable, readable JSON (sorted keys, 2-space indent, trailing newline)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def frames_bytes(frames: np.ndarray, fps: Fraction) -> bytes:
    """``uint8 [F, H, W, 3]`` frames and their rate as a compressed ``.npz`` (lossless, byte-stable)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, frames=frames, fps=np.array([fps.numerator, fps.denominator], dtype=np.int64))
    return buffer.getvalue()


def read_frames(path: Path) -> tuple[np.ndarray, Fraction]:
    """``(uint8 [F, H, W, 3], fps)`` from a file written with :func:`frames_bytes`."""
    with np.load(path) as data:
        return data["frames"], Fraction(int(data["fps"][0]), int(data["fps"][1]))


def png_bytes(image: np.ndarray) -> bytes:
    """``uint8 [H, W, 3]`` -> PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def read_png(path: Path) -> np.ndarray:
    """PNG -> ``uint8 [H, W, 3]``."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``folder/.curation.lock`` (across processes and threads)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def cached(path: Path, make: Callable[[], bytes], once: bool = False) -> Path:
    """``path`` after writing ``make()`` there if it is missing (atomically; ``once``: first writer wins)."""
    if not path.is_file():
        (write_once if once else write_atomic)(path, make())
    return path
