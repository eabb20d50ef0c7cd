"""The trained toy-world weights that ship inside the package (``vidstyle/assets/toyworld``).

The folder holds ``toyworld.json`` (the architecture configs, the encoders' seed, the flow shift, provenance),
the trained tensors as float16 safetensors (VAE, I2V and T2V transformers), the DreamStyle token-LoRA adapter
(``dreamstyle/``) and the StyleMaster weights (``stylemaster/``, the layout of ``save_stylemaster``). The frozen
random text/CLIP encoders are not stored: :func:`build_toyworld_components` rebuilds them from their seed. Every
tensor is cast back to float32 on load. ``benchmarks/toyworld/ship.py`` writes the folder; the
``VIDSTYLE_TOYWORLD_DIR`` environment variable points the loaders at another one.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from safetensors import SafetensorError
from safetensors.torch import load_file

from vidstyle.backbones.toyworld import KINDS, build_toyworld_components
from vidstyle.errors import VidstyleInputError

ENV_VAR = "VIDSTYLE_TOYWORLD_DIR"
MANIFEST = "toyworld.json"
FORMAT = "vidstyle.toyworld_weights"
ADAPTER_DIR = "dreamstyle"
STYLEMASTER_DIR = "stylemaster"
PRODUCER = "vidstyle bench toyworld"
# components whose tensors may be stored, and how to build each from its config (None: the seeded tiny one)
MODEL_CLASSES: dict[str, type | None] = {"vae": AutoencoderKLWan, "transformer": WanTransformer3DModel,
                                         "text_encoder": None, "image_encoder": None}


def package_toyworld_dir() -> Path:
    """Where the weights ship: ``vidstyle/assets/toyworld`` inside the installed package."""
    return Path(str(resources.files("vidstyle") / "assets" / "toyworld"))


def toyworld_dir() -> Path:
    """The folder the loaders read: ``$VIDSTYLE_TOYWORLD_DIR`` if set, else the package's own."""
    override = os.environ.get(ENV_VAR)
    return Path(override).expanduser() if override else package_toyworld_dir()


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    """``toyworld.json`` of ``directory`` (default :func:`toyworld_dir`); a one-line error naming the command
    that produces the weights when it is missing or unreadable."""
    directory = toyworld_dir() if directory is None else Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise VidstyleInputError(f"no trained toy-world weights in {directory} (no {MANIFEST}); "
                                 f"produce them with `{PRODUCER}`")
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
    except (ValueError, UnicodeDecodeError) as err:
        raise VidstyleInputError(f"{path} is not a valid toy-world manifest: {err}") from None
    return manifest


def load_float32(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file with its floating tensors cast to float32 (one-line error if unreadable)."""
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise VidstyleInputError(f"{path} is not a readable safetensors file: {err}; produce the toy-world "
                                 f"weights again with `{PRODUCER}`") from None
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def load_shipped_toyworld(kind: str, directory: Path | None = None) -> dict[str, Any]:
    """Every component of the shipped ``"i2v"`` (``WanImageToVideoPipeline``) or ``"t2v"`` (``WanPipeline``)
    toy-world model, float32 and in eval mode."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'i2v' or 't2v', got {kind!r}")
    directory = toyworld_dir() if directory is None else Path(directory)
    model = read_manifest(directory).get("models", {}).get(kind)
    if model is None:
        raise VidstyleInputError(f"{directory / MANIFEST} has no {kind} model; produce the weights with `{PRODUCER}`")
    stored = model["components"]
    built = {name: cls.from_config(stored[name]["config"]) for name, cls in MODEL_CLASSES.items()
             if cls is not None and name in stored}
    components = build_toyworld_components(kind, seed=model["encoders_seed"], flow_shift=model["flow_shift"],
                                           **built)
    for name, entry in stored.items():
        try:
            components[name].load_state_dict(load_float32(directory / entry["file"]), strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise VidstyleInputError(f"{directory / entry['file']} does not match its {name} config: {first}") \
                from None
    return components


def shipped_adapter(directory: Path | None = None) -> Path:
    """The shipped DreamStyle token-LoRA adapter folder (checks that the weights are there)."""
    directory = toyworld_dir() if directory is None else Path(directory)
    return directory / read_manifest(directory).get("dreamstyle_adapter", ADAPTER_DIR)


def shipped_stylemaster(directory: Path | None = None) -> Path:
    """The shipped StyleMaster weights folder (checks that the weights are there)."""
    directory = toyworld_dir() if directory is None else Path(directory)
    return directory / read_manifest(directory).get("stylemaster", STYLEMASTER_DIR)
