"""The whole toy-world benchmark in one command: ``vidstyle bench toyworld`` (or ``python -m benchmarks.toyworld.run``).

Stages, each in its own folder under ``--out`` and skipped when a finished one is already there (so an
interrupted run continues where it stopped):

1. ``base/``: the toy world, the Wan VAE and the I2V and T2V bases trained from scratch
   (``benchmarks.toyworld.base``; ``--reuse-base DIR`` links an earlier base run instead);
2. ``descriptor/``: the toy style descriptor, trained by ``vidstyle train projection`` (``scores.py``);
3. ``dreamstyle/``: token-specific and shared LoRA, CT then SFT, every task scored (``dreamstyle.py``);
4. ``stylemaster/``: projection, style module, motion adapter, ControlNet and the ablations (``stylemaster.py``);
5. the trained tiny weights are shipped into the package as the default of ``vidstyle demo`` (``ship.py``;
   ``--no-ship`` keeps the package as it is);
6. ``report.md``: every table, the ablations next to the papers' numbers, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.toyworld import base as base_stage
from benchmarks.toyworld.dreamstyle import DreamStyleOptions, run_dreamstyle
from benchmarks.toyworld.dreamstyle import report as dreamstyle_report
from benchmarks.toyworld.report import load_eval_samples
from benchmarks.toyworld.scores import build_scorer, descriptor_accuracy


def log(message: str) -> None:
    print(f"[toyworld] {message}", file=sys.stderr, flush=True)


def ensure_base(out: Path, args: argparse.Namespace) -> Path:
    """``out/base`` with a finished base run: linked from ``--reuse-base``, kept, or trained now."""
    base = out / "base"
    if args.reuse_base is not None and not base.exists():
        base.parent.mkdir(parents=True, exist_ok=True)
        base.symlink_to(args.reuse_base.resolve(), target_is_directory=True)
    if (base / "results.json").is_file():
        log(f"base models: reusing {base.resolve()}")
        return base
    log(f"base models: training for {args.base_minutes} min")
    base.mkdir(parents=True, exist_ok=True)
    stage_args = argparse.Namespace(out=base, minutes=args.base_minutes, samples=args.samples, eval_clips=24,
                                    steps=20, guidance=4.0, evaluate_only=False, train_steps=None)
    start = time.perf_counter()
    results = base_stage.run_stages(stage_args)
    results["wall_seconds"] = time.perf_counter() - start
    (base / "results.md").write_text(base_stage.table(results) + "\n")
    (base / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return base


def stage_seconds(base: Path, out: Path, dreamstyle: dict, stylemaster: dict) -> dict[str, float | None]:
    """Training and evaluation seconds each stage recorded when it ran (None where nothing was recorded)."""
    base_results = json.loads((base / "results.json").read_text())
    descriptor = out / "descriptor" / "timing.json"
    return {"base models (train)": base_results["vae"]["seconds"] + max(base_results["i2v"]["seconds"],
                                                                         base_results["t2v"]["seconds"]),
            "descriptor": json.loads(descriptor.read_text())["train_seconds"] if descriptor.is_file() else None,
            "dreamstyle": sum(dreamstyle["timings"].values()), "stylemaster": sum(stylemaster["timings"].values())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vidstyle bench toyworld", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/toyworld"))
    parser.add_argument("--reuse-base", type=Path, default=None, help="an earlier base run (benchmarks.toyworld.base)")
    parser.add_argument("--base-minutes", type=float, default=25.0)
    parser.add_argument("--samples", type=int, default=400, help="train clips of the toy world")
    parser.add_argument("--eval-samples", type=int, default=16)
    parser.add_argument("--dreamstyle-steps", type=int, default=DreamStyleOptions.train_steps)
    parser.add_argument("--no-ship", action="store_true", help="do not copy the trained weights into the package")
    args = parser.parse_args(argv)
    # absolute: the stage configs that decide reuse then read the same however the folder is named
    args.out = args.out.resolve()
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    timings = {}

    base = ensure_base(args.out, args)
    timings["base (this run)"] = time.perf_counter() - start
    mark = time.perf_counter()
    log("style descriptor")
    scorer = build_scorer(base / "world", args.out / "descriptor")
    samples = load_eval_samples(base / "world", 100)
    accuracy = descriptor_accuracy(scorer.descriptor, samples)
    timings["descriptor"] = time.perf_counter() - mark

    mark = time.perf_counter()
    dreamstyle = run_dreamstyle(base, args.out / "dreamstyle", scorer,
                                DreamStyleOptions(train_steps=args.dreamstyle_steps, eval_samples=args.eval_samples))
    timings["dreamstyle"] = time.perf_counter() - mark

    from benchmarks.toyworld.stylemaster import StyleMasterOptions, run_stylemaster
    from benchmarks.toyworld.stylemaster import report as stylemaster_report

    mark = time.perf_counter()
    stylemaster = run_stylemaster(base, args.out / "stylemaster", scorer,
                                  StyleMasterOptions(eval_samples=args.eval_samples))
    timings["stylemaster"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start

    summary = {"descriptor_accuracy": accuracy, "descriptor_styles": len({s.style_id for s in samples}),
               "this_invocation_seconds": timings, "stage_seconds": stage_seconds(base, args.out, dreamstyle,
                                                                                 stylemaster)}
    report = "\n\n".join([
        "# Toy-world benchmark", f"Command: `vidstyle bench toyworld {' '.join(argv or sys.argv[1:])}`",
        "## Base models\n\n" + (base / "results.md").read_text().strip(),
        f"## Style descriptor\n\nNearest-style accuracy on the {len(samples)} eval clips "
        f"({summary['descriptor_styles']} styles, chance {1 / summary['descriptor_styles']:.2f}): {accuracy:.2f}",
        "## DreamStyle\n\n" + dreamstyle_report(dreamstyle),
        "## StyleMaster\n\n" + stylemaster_report(stylemaster),
        "## Time\n\nAs recorded by each stage when it ran (a resumed stage keeps its first times): "
        + ", ".join(f"{k} {'not recorded' if v is None else f'{v / 60:.1f} min'}"
                    for k, v in summary["stage_seconds"].items())
        + ". This invocation: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()) + ".",
    ])
    if not args.no_ship:
        from benchmarks.toyworld.ship import ship

        shipped = ship(base, Path(dreamstyle["adapter"]), Path(stylemaster["weights"]),
                       provenance={"command": f"vidstyle bench toyworld {' '.join(argv or sys.argv[1:])}",
                                   **summary})
        report += f"\n\nShipped the trained weights to {shipped}."
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.out / "report.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
