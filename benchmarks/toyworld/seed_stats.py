"""Training-seed statistics of a DreamStyle ablation: adapter A against adapter B over several training runs.

    python -m benchmarks.toyworld.seed_stats SWEEP.md [SWEEP.md ...] [--a token-specific] [--b shared]
        [--score style] [--group "held-out content"] [--level 0.95]

Each ``SWEEP.md`` is what ``benchmarks.toyworld.guidance_sweep`` printed for one DreamStyle training run (one
training seed, ``--dreamstyle-dir``), with rows for both adapters on the same eval records. The style-image task is
read from its rows without style guidance (the paper's sampling). Per task, and for the mean over the three
tasks, one run gives one paired difference ``d = A - B``; over the runs the table shows every ``d``, their mean, a
Student-t interval of that mean (``--level``, default 95%; the interim look of a group-sequential study uses a
higher one) and a verdict: ``A ahead`` when the interval lies above 0, ``B ahead`` when it lies below,
otherwise ``not established``. Runs are the unit because what varies between them is the training seed;
within a run both adapters are scored on the same clips with the same noise. Where a table also has an
``untrained`` row for a task (it has no training seed, so the first such row serves every run), the last column
counts the runs in which A beats it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from benchmarks.toyworld.report import GROUPS, parse_score_table
from benchmarks.toyworld.scores import SCORE_COLUMNS

TASKS = ("text", "style image", "first frame")


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t with ``df`` degrees of freedom: bisection on the CDF,
    whose integral is taken by Simpson's rule in ``u = atan(x)`` (a smooth integrand on ``[0, pi/2)``)."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density_in_u(u: float) -> float:  # pdf(tan u) * d(tan u)/du
        x = math.tan(u)
        return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df)) / math.cos(u) ** 2

    def cdf(x: float, intervals: int = 2000) -> float:
        end = math.atan(x)
        h = end / intervals
        total = density_in_u(0.0) + density_in_u(end)
        total += sum((4 if i % 2 else 2) * density_in_u(i * h) for i in range(1, intervals))
        return 0.5 + total * h / 3

    low, high = 0.0, 1.0
    while cdf(high) < p:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if cdf(middle) < p else (low, middle)
    return (low + high) / 2


def mean_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` (two or more) and its two-sided Student-t interval."""
    n = len(values)
    if n < 2:
        raise ValueError("an interval needs two or more runs")
    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.5 + level / 2, n - 1) * spread / math.sqrt(n)
    return mean, mean - half, mean + half


def verdict(low: float, high: float, a: str, b: str) -> str:
    """Which adapter an interval of ``A - B`` puts ahead, if either."""
    return f"{a} ahead" if low > 0 else f"{b} ahead" if high < 0 else "not established"


def row_label(task: str, adapter: str) -> str:
    """The sweep's variant label of ``adapter`` on ``task`` (style image: without style guidance)."""
    return f"DreamStyle {task}, {adapter}" + (", style guidance off" if task == "style image" else "")


def run_values(table: dict, adapter: str, score: str, group: str) -> dict[str, float]:
    """``{task: score}`` of one adapter in one parsed sweep, for the tasks that have its row."""
    rows = {task: table.get(row_label(task, adapter), {}).get(group) for task in TASKS}
    return {task: row[score] for task, row in rows.items() if row is not None}


def seed_table(tables: list[dict], a: str, b: str, score: str, group: str, level: float = 0.95) -> str:
    """The markdown table described in the module docstring, from parsed sweeps (one per run)."""
    per_run = []
    for index, table in enumerate(tables):
        values_a, values_b = run_values(table, a, score, group), run_values(table, b, score, group)
        if len(values_a) < len(TASKS) or len(values_b) < len(TASKS):
            raise ValueError(f"run {index + 1} lacks a row of {a!r} or {b!r} for a task (group {group!r})")
        per_run.append((values_a, values_b))
    untrained = {}  # the same in every sweep of one base: the first table that has a task's row gives it
    for table in reversed(tables):
        untrained.update(run_values(table, "untrained", score, group))
    lines = [f"| task | {score}: {a} (mean) | {b} (mean) | d = {a} - {b}, per run | mean d | "
             f"{100 * level:g}% interval | verdict | runs {a} > untrained |", "|---" * 8 + "|"]
    for task in (*TASKS, "mean of tasks"):
        pick = (lambda v: sum(v.values()) / len(v)) if task not in TASKS else (lambda v, task=task: v[task])
        d = [pick(va) - pick(vb) for va, vb in per_run]
        mean, low, high = mean_interval(d, level)
        beaten = f"{sum(va[task] > untrained[task] for va, _ in per_run)} of {len(per_run)} " \
                 f"({untrained[task]:.3f})" if task in untrained else "-"
        mean_a = sum(pick(va) for va, _ in per_run) / len(per_run)
        mean_b = sum(pick(vb) for _, vb in per_run) / len(per_run)
        lines.append(f"| {task} | {mean_a:.3f} | {mean_b:.3f} | {' '.join(f'{x:+.3f}' for x in d)} | {mean:+.4f} | "
                     f"[{low:+.4f}, {high:+.4f}] | {verdict(low, high, a, b)} | {beaten} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweeps", type=Path, nargs="+", help="guidance_sweep outputs, one per training run")
    parser.add_argument("--a", default="token-specific")
    parser.add_argument("--b", default="shared")
    parser.add_argument("--score", default="style", choices=SCORE_COLUMNS)
    parser.add_argument("--group", default=GROUPS[0])
    parser.add_argument("--level", type=float, default=0.95, help="two-sided confidence level of the intervals")
    args = parser.parse_args()
    missing = [str(path) for path in args.sweeps if not path.is_file()]
    if missing:
        parser.error(f"no such sweep output: {', '.join(missing)}")
    if not 0 < args.level < 1:
        parser.error(f"--level must lie between 0 and 1, got {args.level}")
    if len(args.sweeps) < 2:
        parser.error("give two or more sweep outputs (one per training run)")
    tables = [parse_score_table(path.read_text()) for path in args.sweeps]
    try:
        print(seed_table(tables, args.a, args.b, args.score, args.group, args.level))
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
