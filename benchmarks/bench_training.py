"""Trainer throughput on the tiny configuration: optimizer steps/s and peak memory.

    python -m benchmarks.bench_training

Each trainer runs in a fresh process (peak RSS is per process) on a synthetic cache with the tiny
I2V shapes at the given latent size; steps/s is measured after two warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

TRAINER_CODE = """
import sys, time, resource, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
from test_dreamstyle_training import synthetic_cache
from vidstyle.training.config import DreamStyleTrainConfig
from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer
root = Path(tempfile.mkdtemp())
cfg = DreamStyleTrainConfig(cache=synthetic_cache(root / "cache", count=4), output_dir=root / "out", preset="tiny",
                            rank={rank}, max_steps={steps}, checkpoint_every=10**6, gradient_checkpointing={ckpt})
stamps = []
DreamStyleTrainer(cfg).train(on_step=lambda s, l: stamps.append(time.perf_counter()))
rate = (len(stamps) - 3) / (stamps[-1] - stamps[2])
print(rate, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(rank: int, steps: int, checkpointing: bool) -> tuple[float, float]:
    code = TRAINER_CODE.format(rank=rank, steps=steps, ckpt=checkpointing)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rate, rss = out.stdout.split()[-2:]
    return float(rate), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = {}
    print("| trainer | setting | steps/s (2 micro-steps each) | peak RSS MB |\n|---|---|---|---|")
    for name, rank, ckpt in [("dreamstyle", 64, False), ("dreamstyle", 64, True), ("dreamstyle", 4, False)]:
        rate, rss = measure(rank, args.steps, ckpt)
        setting = f"rank {rank}" + (", gradient checkpointing" if ckpt else "")
        rows[f"{name} {setting}"] = {"steps_per_s": rate, "peak_rss_mb": rss}
        print(f"| {name} | {setting} | {rate:.1f} | {rss:.0f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
