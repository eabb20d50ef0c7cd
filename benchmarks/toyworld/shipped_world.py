"""A toy-world run folder on the weights that ship in the package, so that seed studies can go on across sessions.

    python -m benchmarks.toyworld.shipped_world --out RUN [--descriptor DIR]

A base replay (``benchmarks.toyworld.base --train-steps``) repeats bit for bit within one session but not across
sessions (docs/toyworld_benchmark.md), so each batch of training seeds used to land on a new world model. The
shipped float16 weights are fixed files: this writes ``RUN/base`` in the layout of ``benchmarks.toyworld.base``
(``world/``, the toy world rebuilt from its seed; ``vae/vae``; ``i2v/pipeline``, the shipped I2V model cast to
float32) and ``RUN/descriptor`` (the style descriptor: copied from ``--descriptor`` when given, else trained by
``scores.train_style_descriptor``). ``benchmarks.toyworld.dreamstyle --base RUN/base`` and ``guidance_sweep --run
RUN`` then work on it as on a trained base. Prints the descriptor's nearest-style accuracy on the eval records
and a digest of the exported weights, which two sessions compare to know they share the world.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from benchmarks.toyworld.report import load_eval_samples
from benchmarks.toyworld.scores import StyleDescriptor, descriptor_accuracy, train_style_descriptor
from vidstyle.adapters.serialization import replace_directory
from vidstyle.backbones.shipped import load_shipped_toyworld
from vidstyle.data.toy import build_toy_world
from vidstyle.training.base_trainer import PIPELINES

SAMPLES, SIZE, FRAMES = 400, 64, 9  # benchmarks.toyworld.base's defaults


BASE_PARTS, DESCRIPTOR_PARTS = ("vae", "i2v"), ("clip", "style_extractor")


def weights_digest(folder: Path, parts: tuple[str, ...]) -> str:
    """SHA-256 over every ``*.safetensors`` file under ``folder/PART`` for each of ``parts`` (sorted by relative
    path), first 16 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(p for part in parts for p in (folder / part).rglob("*.safetensors")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def export_base(base: Path) -> None:
    """``base/world``, ``base/vae/vae`` and ``base/i2v/pipeline`` from the shipped weights (kept if there)."""
    if not (base / "world" / "toy_world.json").is_file():
        build_toy_world(base / "world", samples=SAMPLES, size=SIZE, frames=FRAMES, seed=0, overwrite=True)
    if not (base / "i2v" / "pipeline" / "model_index.json").is_file():
        components = load_shipped_toyworld("i2v")  # every component, encoders rebuilt from their seed
        PIPELINES["i2v"](**components).save_pretrained(base / "i2v" / "pipeline")
        components["vae"].save_pretrained(base / "vae" / "vae")


def copy_descriptor(source: Path, descriptor: Path) -> None:
    """Copy a kept descriptor (``clip/`` and ``style_extractor/``) to ``descriptor``, pointing its extractor's
    ``clip_model`` at the copied CLIP."""
    if not (source / "style_extractor" / "style_extractor.json").is_file() or not (source / "clip").is_dir():
        raise SystemExit(f"error: {source} holds no descriptor (clip/ and style_extractor/)")
    staging = descriptor.with_name(f".{descriptor.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for part in ("clip", "style_extractor"):
        shutil.copytree(source / part, staging / part)
    config_path = staging / "style_extractor" / "style_extractor.json"
    config = json.loads(config_path.read_text())
    config["clip_model"] = str((descriptor / "clip").resolve())
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    replace_directory(staging, descriptor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--descriptor", type=Path, default=None,
                        help="a kept descriptor folder (with style_extractor/) to copy instead of training one")
    args = parser.parse_args()
    export_base(args.out / "base")
    descriptor = args.out / "descriptor"
    if args.descriptor is not None and not descriptor.exists():
        copy_descriptor(args.descriptor, descriptor)
    export = train_style_descriptor(args.out / "base" / "world", descriptor)
    samples = load_eval_samples(args.out / "base" / "world", 100, SIZE, FRAMES)
    accuracy = descriptor_accuracy(StyleDescriptor(export), samples)
    print(f"base weights {weights_digest(args.out / 'base', BASE_PARTS)}, descriptor weights "
          f"{weights_digest(descriptor, DESCRIPTOR_PARTS)}, "
          f"descriptor accuracy {accuracy:.2f} on {len(samples)} eval records")


if __name__ == "__main__":
    main()
