"""Eval samples, score aggregation and markdown tables shared by the toy-world stages."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.toyworld.scores import HIGHER_IS_BETTER, SCORE_COLUMNS, ToyScorer, mean_scores
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import Sample, load_sample

GROUPS = ("held-out content", "held-out styles")


def load_eval_samples(world: Path, count: int, size: int = 64, frames: int = 9, start: int = 0) -> list[Sample]:
    """``count`` records of ``world/eval`` from record ``start`` (the reported ones start at 0), decoded at
    ``size`` x ``size`` and ``frames`` frames."""
    records = read_manifest(world / "eval", on_error="stop").records[start: start + count]
    return [load_sample(world / "eval", record, size, size, max_frames=frames) for record in records]


def eval_groups(world: Path, samples: list[Sample]) -> dict[str, list[int]]:
    """Sample indices per group: styles seen in training (held-out content) and the world's held-out styles;
    empty groups are left out."""
    heldout = set(json.loads((world / "toy_world.json").read_text())["heldout_styles"])
    groups = {GROUPS[0]: [i for i, s in enumerate(samples) if s.style_id not in heldout],
              GROUPS[1]: [i for i, s in enumerate(samples) if s.style_id in heldout]}
    return {name: rows for name, rows in groups.items() if rows}


def scored_rows(scorer: ToyScorer, videos: np.ndarray | list[np.ndarray], samples: list[Sample],
                rows: list[int]) -> dict[str, float]:
    """Mean scores of ``videos[i]`` against ``samples[i]`` over ``rows``, with the count under ``"n"``."""
    return {"n": len(rows), **mean_scores([scorer.score(videos[i], samples[i]) for i in rows])}


def score_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown table from ``{variant: {group: scores}}``: a row per variant and group, a column per score
    (arrows give the better direction)."""
    head = " | ".join(f"{c} {'↑' if HIGHER_IS_BETTER[c] else '↓'}" for c in SCORE_COLUMNS)
    lines = [f"| variant | eval rows | n | {head} |", "|---" * (3 + len(SCORE_COLUMNS)) + "|"]
    for variant, groups in results.items():
        for group, scores in groups.items():
            cells = " | ".join(f"{scores[c]:.3f}" if c not in ("psnr",) else f"{scores[c]:.2f}"
                               for c in SCORE_COLUMNS)
            lines.append(f"| {variant} | {group} | {scores['n']} | {cells} |")
    return "\n".join(lines)


def parse_score_table(text: str) -> dict[str, dict[str, dict[str, float]]]:
    """The inverse of :func:`score_table` (values as printed): ``{variant: {group: {"n": n, score: value}}}``
    from every row of ``text`` in that table's layout; other lines are skipped."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 + len(SCORE_COLUMNS) or not cells[2].isdigit():
            continue
        values = dict(zip(SCORE_COLUMNS, map(float, cells[3:]), strict=True))
        results.setdefault(cells[0], {})[cells[1]] = {"n": int(cells[2]), **values}
    return results


def stage_main(doc: str, defaults: Any, stage: str, run: Callable[..., dict], report: Callable[[dict], str]) -> None:
    """A stage's ``python -m`` entry: parse :func:`stage_arguments`, score with the descriptor of the base's run
    (``BASE/../descriptor``, trained there if missing; an ``--out`` elsewhere still shares it),
    ``run(base, out, scorer, options)`` and print ``report`` of the results."""
    from benchmarks.toyworld.scores import build_scorer

    base, out, options = stage_arguments(doc, defaults, stage)
    print(report(run(base, out, build_scorer(base / "world", base.parent / "descriptor"), options)))


def stage_arguments(doc: str, defaults: Any, stage: str) -> tuple[Path, Path, Any]:
    """A stage's command line: ``--base``, ``--out`` (default ``BASE/../STAGE``) and one option per field of the
    dataclass instance ``defaults``; returns ``(base, out, options)``, the folders absolute (the stage configs that
    decide reuse then read the same however a folder is named)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--base", type=Path, default=Path("runs/toyworld/base"))
    parser.add_argument("--out", type=Path, default=None, help=f"default: BASE/../{stage}")
    fields = [field.name for field in dataclasses.fields(defaults)]
    for name in fields:
        value = getattr(defaults, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args()
    options = type(defaults)(**{name: getattr(args, name) for name in fields})
    base = args.base.resolve()
    return base, (args.out or base.parent / stage).resolve(), options
