"""The training cache: per-sample safetensors of latents and embeddings, plus ``index.json``.

Layout: ``CACHE/index.json`` (``{"format", "version", "samples": [ids], "settings": {...}}``) and
``CACHE/samples/{id}.safetensors`` whose keys are the fields of
:class:`~vidstyle.training.dreamstyle_objective.CachedSample`. Training then runs only the trained model.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vidstyle.adapters.serialization import atomic_write
from vidstyle.errors import VidstyleInputError
from vidstyle.training.dreamstyle_objective import CachedSample

FORMAT = "vidstyle.cache"
INDEX = "index.json"


def sample_path(cache: Path, sample_id: str) -> Path:
    return Path(cache) / "samples" / f"{sample_id}.safetensors"


def write_cached_sample(cache: Path, sample_id: str, sample) -> None:
    """Write any cached-sample dataclass of tensors."""
    path = sample_path(cache, sample_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in vars(sample).items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"format": FORMAT}))


def read_cached_sample(cache: Path, sample_id: str, kind: type = CachedSample):
    """Read a sample as the dataclass ``kind`` (its fields are the file's keys)."""
    path = sample_path(cache, sample_id)
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise VidstyleInputError(f"cannot read cached sample {path}: {' '.join(str(err).split())}") from None
    missing = {f.name for f in fields(kind)} - tensors.keys()
    if missing:
        raise VidstyleInputError(f"cached sample {path} lacks {sorted(missing)}")
    return kind(**{f.name: tensors[f.name] for f in fields(kind)})


def write_index(cache: Path, sample_ids: list[str], settings: dict) -> None:
    content = json.dumps({"format": FORMAT, "version": 1, "samples": sample_ids, "settings": settings}, indent=1)
    atomic_write(Path(cache) / INDEX, lambda tmp: Path(tmp).write_text(content))


def read_index(cache: Path) -> tuple[list[str], dict]:
    """``(sample ids, settings)`` of a cache; a missing or foreign index is a one-line error."""
    path = Path(cache) / INDEX
    if not path.is_file():
        raise VidstyleInputError(f"{cache} is not a vidstyle cache (no {INDEX}); run `vidstyle cache` first")
    try:
        index = json.loads(path.read_text())
        if index.get("format") != FORMAT or not isinstance(index.get("samples"), list):
            raise ValueError("wrong format")
    except (ValueError, AttributeError) as err:
        raise VidstyleInputError(f"{path} is not a valid cache index: {err}") from None
    if not index["samples"]:
        raise VidstyleInputError(f"cache {cache} holds no samples")
    return [str(s) for s in index["samples"]], dict(index.get("settings", {}))


class CachedDataset(torch.utils.data.Dataset):
    """The samples of a cache, in index order, as ``sample_type`` (a cache of ``kind`` is expected)."""

    def __init__(self, cache: str | Path, sample_type: type = CachedSample, kind: str = "dreamstyle") -> None:
        self.cache, self.sample_type = Path(cache), sample_type
        self.ids, self.settings = read_index(self.cache)
        found = self.settings.get("kind", "dreamstyle")
        if found != kind:
            raise VidstyleInputError(f"{cache} is a {found} cache; this trainer needs a {kind} cache "
                                     f"(vidstyle cache --kind {kind})")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int):
        return read_cached_sample(self.cache, self.ids[index], self.sample_type)
