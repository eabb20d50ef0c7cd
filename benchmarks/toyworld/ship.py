"""Ship the trained toy-world weights inside the package, as the embedded default of `vidstyle demo`.

    python -m benchmarks.toyworld.ship --base DIR --adapter ADAPTER --stylemaster WEIGHTS [--dest DEST]

``DIR`` is the output of ``benchmarks.toyworld.base`` (``DIR/i2v/pipeline``, ``DIR/t2v/pipeline``), ``ADAPTER``
a DreamStyle token-LoRA adapter trained on its I2V model and ``WEIGHTS`` a StyleMaster weights folder
(``save_stylemaster``) trained on its T2V model. Writes ``DEST`` (default ``src/vidstyle/assets/toyworld``, the
layout of ``vidstyle/backbones/shipped.py``): the trained tensors as float16 safetensors and ``toyworld.json``.
The frozen text/CLIP encoders are stored only if they differ from the seeded ``tiny`` ones. Atomic: the folder
is written next to ``DEST``, checked by loading it, then swapped in.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from diffusers import WanImageToVideoPipeline, WanPipeline
from safetensors import safe_open
from safetensors.torch import save_file

from vidstyle.adapters.serialization import replace_directory
from vidstyle.adapters.token_adapter import read_adapter_files
from vidstyle.backbones.shipped import (
    ADAPTER_DIR,
    FORMAT,
    MANIFEST,
    MODEL_CLASSES,
    STYLEMASTER_DIR,
    load_shipped_toyworld,
    package_toyworld_dir,
)
from vidstyle.backbones.toyworld import build_toyworld_components
from vidstyle.pipelines.dreamstyle import DreamStylePipeline
from vidstyle.pipelines.stylemaster import PARTS, StyleMasterPipeline
from vidstyle.style.clip import TINY_CLIP

PIPELINES = {"i2v": WanImageToVideoPipeline, "t2v": WanPipeline}


def half(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating tensors to float16 (contiguous, on the CPU); refuses values float16 cannot hold."""
    out = {}
    for key, value in tensors.items():
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.to(torch.float16)
            if not torch.isfinite(value).all():
                raise ValueError(f"{key} does not fit in float16")
        out[key] = value.contiguous()
    return out


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


def public_config(module: torch.nn.Module) -> dict[str, Any]:
    """A diffusers model's config without the private ``_class_name``-style keys (JSON-ready)."""
    return json.loads(json.dumps({k: v for k, v in module.config.items() if not k.startswith("_")}))


def trained_states(base: Path, encoders_seed: int) -> dict[str, dict[str, Any]]:
    """Per kind: the flow shift and, per stored component, its module and state. VAE and transformer always;
    the text/CLIP encoders only when they are not the seeded tiny ones (same keys and shapes required)."""
    models = {}
    for kind, cls in PIPELINES.items():
        pipe = cls.from_pretrained(str(base / kind / "pipeline"))
        seeded = build_toyworld_components(kind, seed=encoders_seed)
        stored = {}
        for name in MODEL_CLASSES:
            module = pipe.components.get(name)
            if module is None:
                continue
            state = module.state_dict()
            if name in ("text_encoder", "image_encoder"):
                expected = seeded[name].state_dict()
                if {k: v.shape for k, v in state.items()} != {k: v.shape for k, v in expected.items()}:
                    raise ValueError(f"{base / kind / 'pipeline'}: the {name} is not the tiny one")
                if same_state(state, expected):
                    continue
            stored[name] = {"module": module, "state": state}
        models[kind] = {"flow_shift": float(pipe.scheduler.config.shift), "stored": stored}
    return models


def write_models(models: dict[str, dict[str, Any]], out: Path, encoders_seed: int) -> dict[str, Any]:
    """Write the float16 tensors (one file per component when the kinds share it, e.g. the frozen VAE) and
    return the manifest's ``models`` entry."""
    entries: dict[str, Any] = {}
    for kind, model in models.items():
        components = {}
        for name, item in model["stored"].items():
            shared = all(name in other["stored"] and same_state(item["state"], other["stored"][name]["state"])
                         for other in models.values())
            file = f"{name}.safetensors" if shared else f"{name}_{kind}.safetensors"
            if not (out / file).exists():
                save_file(half(item["state"]), str(out / file))
            entry: dict[str, Any] = {"file": file}
            if MODEL_CLASSES[name] is not None:
                entry["config"] = public_config(item["module"])
            components[name] = entry
        entries[kind] = {"flow_shift": model["flow_shift"], "encoders_seed": encoders_seed,
                         "components": components}
    return entries


def copy_part(source: Path, target: Path) -> None:
    """Copy a part folder (``NAME.json`` + ``NAME.safetensors`` files) with its tensors in float16."""
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.suffix == ".json":
            shutil.copyfile(path, target / path.name)
        elif path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata()
                tensors = {key: f.get_tensor(key) for key in f.keys()}
            save_file(half(tensors), str(target / path.name), metadata=metadata)


def copy_weights(adapter: Path, stylemaster: Path, out: Path) -> None:
    """The DreamStyle adapter and the StyleMaster parts, float16, after checking what they are."""
    read_adapter_files(adapter)
    copy_part(adapter if adapter.is_dir() else adapter.parent, out / ADAPTER_DIR)
    config = json.loads((stylemaster / PARTS["extractor"] / "style_extractor.json").read_text())
    if config.get("clip_model") != TINY_CLIP:
        raise ValueError(f"{stylemaster}: the style extractor runs on CLIP {config.get('clip_model')!r}; the "
                         f"shipped toy world needs the offline {TINY_CLIP!r} one")
    for part in PARTS.values():
        if (stylemaster / part).is_dir():
            copy_part(stylemaster / part, out / STYLEMASTER_DIR / part)


def verify(out: Path) -> None:
    """Load what was written: both pipelines, the adapter on I2V and the StyleMaster parts on T2V."""
    DreamStylePipeline(**load_shipped_toyworld("i2v", out)).load_token_lora(out / ADAPTER_DIR)
    StyleMasterPipeline(**load_shipped_toyworld("t2v", out)).load_stylemaster(out / STYLEMASTER_DIR)


def check_dest(dest: Path) -> None:
    """``dest`` must be absent, an empty folder or an earlier shipped folder."""
    if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MANIFEST).is_file())):
        raise ValueError(f"refusing to replace {dest}: it is not a shipped toy-world folder (no {MANIFEST})")


def ship(base: Path, dreamstyle_adapter: Path, stylemaster_weights: Path, dest: Path | None = None,
         provenance: dict | None = None, encoders_seed: int = 0) -> Path:
    """Write the shipped toy-world folder ``dest`` (default: the package's ``assets/toyworld``) from the
    benchmark's outputs; ``provenance`` (the command, the benchmark numbers) goes into ``toyworld.json``.
    Returns ``dest``."""
    dest = Path(os.path.abspath(dest or package_toyworld_dir()))
    check_dest(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        models = write_models(trained_states(Path(base), encoders_seed), tmp, encoders_seed)
        copy_weights(Path(dreamstyle_adapter), Path(stylemaster_weights), tmp)
        manifest = {"format": FORMAT, "version": 1, "dtype": "float16", "models": models,
                    "dreamstyle_adapter": ADAPTER_DIR, "stylemaster": STYLEMASTER_DIR,
                    "provenance": provenance or {}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        verify(tmp)
        for path in tmp.rglob("*"):  # package data: readable by everyone (safetensors writes 0600)
            path.chmod(0o755 if path.is_dir() else 0o644)
        replace_directory(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def total_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="output of benchmarks.toyworld.base")
    parser.add_argument("--adapter", type=Path, required=True, help="the DreamStyle token-LoRA adapter")
    parser.add_argument("--stylemaster", type=Path, required=True, help="the StyleMaster weights folder")
    parser.add_argument("--dest", type=Path, default=None, help="default: the package's assets/toyworld")
    parser.add_argument("--encoders-seed", type=int, default=0, help="seed of the frozen tiny encoders")
    parser.add_argument("--provenance", type=Path, default=None, help="a JSON file of benchmark numbers")
    args = parser.parse_args()
    provenance = json.loads(args.provenance.read_text()) if args.provenance else {}
    provenance.setdefault("command", "python -m benchmarks.toyworld.ship " + " ".join(sys.argv[1:]))
    dest = ship(args.base, args.adapter, args.stylemaster, args.dest, provenance, args.encoders_seed)
    print(f"{dest}: {total_bytes(dest) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
