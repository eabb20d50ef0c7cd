"""Cheap checks of model sources before anything is loaded: a local directory or a hub id, IP-Adapter specs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vidstyle.errors import VidstyleInputError


def looks_like_hub_id(value: str) -> bool:
    """``owner/name`` (two non-empty parts, not a relative or home path)."""
    parts = value.split("/")
    return len(parts) == 2 and all(parts) and not value.startswith((".", "/", "~"))


def check_source(value: str, what: str, marker: str) -> str:
    """The resolved directory ``value`` (it must hold ``marker``, e.g. ``model_index.json``) or the hub id."""
    path = Path(value).expanduser()
    if path.exists():
        if not (path / marker).is_file():
            raise VidstyleInputError(f"{what} {value} is not a model directory (no {marker})")
        return str(path.resolve())
    if not looks_like_hub_id(value):
        raise VidstyleInputError(f"{what} directory not found: {value}")
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class IPAdapterSource:
    """The arguments of ``load_ip_adapter``: a hub repo or local folder, a subfolder and a weight file name."""

    repo: str
    subfolder: str
    weight_name: str

    @property
    def identity(self) -> str:
        return "/".join(p for p in (self.repo, self.subfolder, self.weight_name) if p)


def parse_ip_adapter(spec: str) -> IPAdapterSource:
    """A local weight file (its folder may hold ``image_encoder/``) or ``owner/repo/[subfolder/]weight_file``."""
    path = Path(spec).expanduser()
    if path.is_file():
        return IPAdapterSource(repo=str(path.resolve().parent), subfolder="", weight_name=path.name)
    parts = spec.split("/")
    if path.exists() or len(parts) < 3 or not all(parts) or spec.startswith((".", "/", "~")):
        raise VidstyleInputError(f"--ip-adapter must be a weight file or owner/repo/[subfolder/]weight_file "
                                 f"(e.g. h94/IP-Adapter/sdxl_models/ip-adapter_sdxl.safetensors), got {spec!r}")
    return IPAdapterSource(repo="/".join(parts[:2]), subfolder="/".join(parts[2:-1]), weight_name=parts[-1])
