"""Sampling sweeps and ablations on eval records past the reported ones: how the toy world's sampling settings
were chosen (validation records 16..47), and the larger second test set of the README (records 48..99).

    python -m benchmarks.toyworld.guidance_sweep --run DIR [--start 16] [--count 32]
        [--stylemaster 1,1.5,2,3,4] [--dreamstyle none,2,4] [--dreamstyle-tasks style_image]
        [--dreamstyle-adapters token_specific,shared] [--dreamstyle-dir DIR/dreamstyle]

``DIR`` is a finished ``vidstyle bench toyworld`` folder. Validation records are eval records ``start`` ..
``start + count - 1``, apart from the reported ones (the first ``eval_samples``, 16), so a setting chosen here is
not fitted to the tables. Rows: StyleMaster generation and transfer at each style guidance (trained weights,
text guidance 1) and untrained (``--stylemaster ""`` leaves StyleMaster out); DreamStyle per task and adapter
(``untrained``: none; the adapters of ``--dreamstyle-dir``, which may be another run's DreamStyle stage), the
style-image task at each style guidance (``none``: the paper's two-pass sampling), the others without it, text
guidance 4. Prints one markdown table of the held-out-content means (held-out-style rows are left out: 5 clips).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from benchmarks.toyworld.dreamstyle import FRAMES, SIZE, run_tasks
from benchmarks.toyworld.report import GROUPS, eval_groups, load_eval_samples, score_table, scored_rows
from benchmarks.toyworld.scores import build_scorer
from benchmarks.toyworld.stylemaster_eval import Sampling, load_pipe, run_task
from vidstyle.pipelines.dreamstyle import DreamStylePipeline


def sweep(runs: Iterable[tuple[str, Callable[[], np.ndarray]]], score: Callable[[np.ndarray], dict]) -> dict:
    """``{label: score(run())}`` for each ``(label, run)`` in order; a run returns uint8 ``[N, F, H, W, 3]``."""
    return {label: score(run()) for label, run in runs}


def names(text: str) -> tuple[str, ...]:
    """``"text, style_image"`` -> ``("text", "style_image")``."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def scales(text: str) -> list[float | None]:
    """``"none,2,4"`` -> ``[None, 2.0, 4.0]``."""
    return [None if item == "none" else float(item) for item in names(text)]


def stylemaster_runs(run: Path, samples: list, style_scales: list[float | None]):
    """``(label, run)`` pairs: untrained, then trained at every scale, for generation and transfer."""
    for weights in (None, run / "stylemaster" / "weights"):
        pipe = load_pipe(run / "base", weights)
        for task in ("generation", "transfer"):
            for scale in style_scales if weights is not None else [4.0]:  # untrained: no style attention
                label = f"StyleMaster {task}, " + (f"style guidance {scale:g}" if weights else "untrained")
                sampling = Sampling(20, 1.0, scale, scale)
                yield label, lambda pipe=pipe, task=task, sampling=sampling: run_task(pipe, task, samples, sampling)


def dreamstyle_runs(run: Path, samples: list, style_scales: list[float | None],
                    tasks: tuple[str, ...] = ("style_image",), adapters: tuple[str, ...] = ("token_specific", "shared"),
                    stage: Path | None = None):
    """``(label, run)`` pairs per adapter (a folder of ``stage``, default ``run/dreamstyle``; ``untrained``: none)
    and task; the style-image task once per style guidance (None: off), the other tasks once without it."""
    for adapter in adapters:
        pipe = DreamStylePipeline.from_pretrained(str(run / "base" / "i2v" / "pipeline"))
        if adapter != "untrained":
            pipe.load_token_lora((stage or run / "dreamstyle") / adapter / "sft" / "adapter")
        for task in tasks:
            guided = task == "style_image"  # style guidance needs style images
            for scale in style_scales if guided else [None]:
                label = f"DreamStyle {task.replace('_', ' ')}, {adapter.replace('_', '-')}" + (
                    f", style guidance {'off' if scale is None else f'{scale:g}'}" if guided else "")
                yield label, lambda pipe=pipe, task=task, scale=scale: run_tasks(
                    pipe, samples, 20, 4.0, (task,), style_guidance_scale=scale)[task]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--start", type=int, default=16)
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--stylemaster", default="1,1.5,2,3,4")
    parser.add_argument("--dreamstyle", default="none,2,4")
    parser.add_argument("--dreamstyle-tasks", default="style_image", help="of text, style_image, first_frame")
    parser.add_argument("--dreamstyle-adapters", default="token_specific,shared", help="and/or untrained")
    parser.add_argument("--dreamstyle-dir", type=Path, default=None, help="default: RUN/dreamstyle")
    args = parser.parse_args()
    world = args.run / "base" / "world"
    samples = load_eval_samples(world, args.count, SIZE, FRAMES, args.start)
    rows = eval_groups(world, samples)[GROUPS[0]]
    scorer = build_scorer(world, args.run / "descriptor")
    style_scales = scales(args.stylemaster)
    runs = [*(stylemaster_runs(args.run, samples, style_scales) if style_scales else ()),
            *dreamstyle_runs(args.run, samples, scales(args.dreamstyle), names(args.dreamstyle_tasks),
                             names(args.dreamstyle_adapters), args.dreamstyle_dir)]
    results = sweep(runs, lambda videos: {GROUPS[0]: scored_rows(scorer, videos, samples, rows)})
    print(f"Eval records {args.start}..{args.start + args.count - 1} ({len(rows)} held-out content clips)\n")
    print(score_table(results))


if __name__ == "__main__":
    main()
