"""Timing helpers shared by the benchmarks: per-step times from step callbacks, interleaved runs."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

Runner = Callable[[Callable], None]  # runs one generation, calling the given step callback after each step


def step_durations(run: Runner) -> list[float]:
    """Seconds between consecutive step callbacks of one generation (the first step is dropped)."""
    stamps: list[float] = []

    def tick(pipe, i, t, kwargs):
        stamps.append(time.perf_counter())
        return {}

    run(tick)
    return list(np.diff(stamps))


def median_step_times(runners: dict[str, Runner], repeats: int) -> dict[str, float]:
    """Median per-step time of each runner over ``repeats`` rounds, the order rotating every round."""
    names = list(runners)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name] += step_durations(runners[name])
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_rss_mb(code: str) -> float:
    """Peak RSS (MB) of a fresh Python process running ``code`` from the repository root."""
    program = f"{code}\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024
