"""Trainer throughput on tiny configurations: optimizer steps/s and peak memory, one fresh process each.

    python -m benchmarks.bench_training

dreamstyle, motion and controlnet train on synthetic caches with the tiny Wan shapes (3 latent frames
of 4x6); style on a generated style cache (5-frame videos, tiny CLIP); projection on a generated
two-style dataset (tiny CLIP, 8 triplets a step). steps/s is measured after two warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

COMMON = """
import sys, time, resource, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
root = Path(tempfile.mkdtemp())
stamps = []
"""
TRAINERS = {
    "dreamstyle rank 64": """
from test_dreamstyle_training import config
from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer as T
cfg = config(root, rank=64, max_steps={steps}, checkpoint_every=10**6)
""",
    "dreamstyle rank 64, gradient checkpointing": """
from test_dreamstyle_training import config
from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer as T
cfg = config(root, rank=64, max_steps={steps}, checkpoint_every=10**6, gradient_checkpointing=True)
""",
    "motion rank 32": """
from test_motion_training import config
from vidstyle.training.motion_trainer import MotionTrainer as T
cfg = config(root, rank=32, max_steps={steps}, checkpoint_every=10**6)
""",
    "controlnet (stride 2)": """
from test_controlnet_training import config
from vidstyle.training.controlnet_trainer import ControlNetTrainer as T
cfg = config(root, max_steps={steps}, checkpoint_every=10**6)
""",
    "style (video stage)": """
import test_style_training as S
from vidstyle.cli.errors import run_cli
class F:
    def mktemp(self, name):
        (root / name).mkdir(); return root / name
cache = S.cache.__wrapped__(F())
cfg = S.config(cache, root / "out", max_steps={steps}, checkpoint_every=10**6)
from vidstyle.training.style_trainer import StyleTrainer as T
""",
    "projection": """
import test_projection_training as P
class F:
    def mktemp(self, name):
        (root / name).mkdir(); return root / name
cfg = P.config(P.dataset.__wrapped__(F()), root / "out", max_steps={steps}, checkpoint_every=10**6)
from vidstyle.training.projection_trainer import ProjectionTrainer as T
""",
}
RUN = """
T(cfg).train(on_step=lambda s, l: stamps.append(time.perf_counter()))
print((len(stamps) - 3) / (stamps[-1] - stamps[2]), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(setup: str, steps: int) -> tuple[float, float]:
    code = COMMON + setup.format(steps=steps) + RUN
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rate, rss = out.stdout.split()[-2:]
    return float(rate), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = {}
    print("| trainer | steps/s | peak RSS MB |\n|---|---|---|")
    for name, setup in TRAINERS.items():
        rate, rss = measure(setup, args.steps)
        rows[name] = {"steps_per_s": rate, "peak_rss_mb": rss}
        print(f"| {name} | {rate:.1f} | {rss:.0f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
