"""`vidstyle data anagrams`: StyleMaster's model-illusion triplet data (Visual Anagrams on DeepFloyd IF)."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_VIEWS = "identity,flip"


def register(app: typer.Typer) -> None:
    """Add this command to the `vidstyle data` group."""
    app.command("anagrams")(anagrams)


def anagrams(
    styles: Path = typer.Option(..., "--styles", help="Text file, one style per line ('oil painting')."),
    objects: Path = typer.Option(..., "--objects", help="Text file, one object per line ('a dog')."),
    output: Path = typer.Option(..., "-o", "--output", help="Dataset folder to write (or to continue)."),
    model: str | None = typer.Option(None, help="Hub id or local IFPipeline directory of a stage-1 model "
                                                "(default DeepFloyd/IF-I-M-v1.0)."),
    preset: str | None = typer.Option(None, help="'tiny': random offline weights (demos and tests only)."),
    views: str = typer.Option(DEFAULT_VIEWS, help="Comma-separated views: identity, flip, rotate_90, rotate_180, "
                                                  "rotate_270, jigsaw[:G], patch_permute[:P], pixel_permute."),
    pairs: int = typer.Option(100, min=1, help="Anagrams to make (one record per view each)."),
    steps: int = typer.Option(30, min=1, max=1000, help="Denoising steps."),
    guidance: float = typer.Option(10.0, min=0.0, max=50.0, help="Classifier-free guidance scale."),
    size: int = typer.Option(64, min=8, max=1024, help="Image side in pixels (IF stage 1: 64)."),
    seed: int = typer.Option(0, min=0, help="Seed of the pair plan, the noise and the shuffled views."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, mps."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> None:
    """Make visual-anagram images, one style and several objects each (one object per view), and write them as a
    dataset folder for `vidstyle train projection`. Rerunning with the same options continues the folder."""
    from vidstyle.data.anagrams.command import run_anagrams

    print(run_anagrams(styles, objects, output, model, preset, views, pairs, steps, guidance, size, seed, device,
                       dtype, quiet))
