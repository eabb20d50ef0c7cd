"""`vidstyle data toy`: build the procedural toy style world (train and held-out eval dataset folders)."""

from __future__ import annotations

from pathlib import Path

import typer


def _names(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``; ``""`` or ``"none"`` -> ``[]``; None stays None (the default)."""
    if value is None:
        return None
    if value.strip().lower() in ("", "none"):
        return []
    return [name.strip() for name in value.split(",") if name.strip()]


def toy(
    output: Path = typer.Option(..., "-o", "--output", help="The world folder to write (train/, eval/)."),
    samples: int = typer.Option(..., min=1, help="Training samples."),
    size: int = typer.Option(64, min=16, max=1024, help="Frame height and width in pixels."),
    frames: int = typer.Option(9, min=1, max=1001, help="Frames per clip (4k+1 suits Wan; 1 writes images)."),
    seed: int = typer.Option(0, min=0, help="World seed: the same seed gives the same world."),
    refs: int = typer.Option(2, min=0, max=16, help="Style reference images per sample (other content)."),
    fps: float = typer.Option(8.0, min=1.0, max=240.0, help="Frame rate of the written clips."),
    eval_samples: int | None = typer.Option(None, "--eval-samples", min=0,
                                            help="Held-out eval samples (default: max(#held-out, samples/4))."),
    styles: str | None = typer.Option(None, help="Comma-separated styles of the world (default: all)."),
    heldout_styles: str | None = typer.Option(None, "--heldout-styles",
                                              help="Comma-separated styles kept out of train ('none': no style; "
                                                   "default: pop_art,stained_glass)."),
    overwrite: bool = typer.Option(False, help="Replace an existing toy world folder."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> None:
    """Build the toy world: procedural shape clips, their stylized versions under parametric style operators and
    style references on other content; eval uses held-out scene seeds and held-out styles."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vidstyle.data.toy import ToyWorldConfig, write_world

    config = ToyWorldConfig.create(samples=samples, size=size, frames=frames, seed=seed, refs=refs, fps=fps,
                                   eval_samples=eval_samples, styles=_names(styles),
                                   heldout_styles=_names(heldout_styles))
    console = Console(stderr=True, quiet=quiet)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task("toy world", total=config.samples + config.eval_samples)
        written = write_world(output, config, overwrite=overwrite, on_sample=lambda _: progress.advance(task))
    print(written)


def register(app: typer.Typer) -> None:
    """Add this command to the `vidstyle data` group."""
    app.command("toy")(toy)
