"""`vidstyle bench ...`: benchmarks that live in a source checkout's ``benchmarks/`` folder (not installed)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from vidstyle.errors import VidstyleInputError

bench_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Benchmarks of a source checkout (they train and measure; not tests).")


def checkout_root() -> Path:
    """The source checkout holding this package (``src/vidstyle`` two levels below), put on ``sys.path``."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "benchmarks" / "toyworld" / "run.py").is_file():
        raise VidstyleInputError("vidstyle bench runs from a source checkout: benchmarks/ is not installed with "
                                 "the package (pip install -e . from a clone)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root


@bench_app.command("toyworld")
def toyworld(
    output: Path = typer.Option(Path("runs/toyworld"), "-o", "--out", help="Run folder (reruns continue in it)."),
    reuse_base: Path | None = typer.Option(None, "--reuse-base", help="An earlier base run to link, not retrain."),
    base_minutes: float | None = typer.Option(None, "--base-minutes", min=1.0,
                                              help="Budget of the base models (default: the benchmark's)."),
    samples: int | None = typer.Option(None, min=16, help="Train clips of the toy world (default: the benchmark's)."),
    eval_samples: int | None = typer.Option(None, "--eval-samples", min=2,
                                            help="Eval clips scored per task (default: the benchmark's)."),
    dreamstyle_steps: int | None = typer.Option(None, "--dreamstyle-steps", min=3,
                                                help="DreamStyle CT + SFT steps (default: the benchmark's)."),
    no_ship: bool = typer.Option(False, "--no-ship", help="Keep the package's shipped demo weights as they are."),
) -> None:
    """Train the toy-world bases, DreamStyle and StyleMaster with their ablations from scratch, score them on
    held-out content and styles, write OUT/report.md and ship the trained weights as the demo default."""
    if reuse_base is not None and not (reuse_base / "results.json").is_file():
        raise VidstyleInputError(f"--reuse-base {reuse_base}: no finished base run there (results.json missing)")
    checkout_root()
    run = importlib.import_module("benchmarks.toyworld.run")
    given = {"--base-minutes": base_minutes, "--samples": samples, "--eval-samples": eval_samples,
             "--dreamstyle-steps": dreamstyle_steps}  # the rest take benchmarks/toyworld/run.py's defaults
    argv = ["--out", str(output)] + [part for flag, value in given.items() if value is not None
                                     for part in (flag, str(value))]
    argv += ["--reuse-base", str(reuse_base)] * (reuse_base is not None) + ["--no-ship"] * no_ship
    run.main(argv)
