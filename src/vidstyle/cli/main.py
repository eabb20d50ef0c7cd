"""The `vidstyle` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from vidstyle.cli.errors import run_cli

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Stylize videos with diffusion models (DreamStyle on Wan2.1 I2V).")


@app.command()
def stylize(
    input: Path = typer.Argument(..., help="Video to stylize (mp4, mov, mkv, webm, avi, gif...)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the stylized .mp4."),
    prompt: str | None = typer.Option(None, help="Text: the style (text mode) or the content (otherwise)."),
    style_image: list[Path] = typer.Option([], "--style-image", help="Style reference image; repeat for several."),
    first_frame: Path | None = typer.Option(None, "--first-frame", help="A stylized first frame to propagate."),
    style_prompt: str | None = typer.Option(None, "--style-prompt", help="A style text, fused with style images."),
    negative_prompt: str | None = typer.Option(None, "--negative-prompt"),
    preset: str | None = typer.Option(None, help="Backbone preset (default wan2.1-i2v-14b-480p; 'tiny' offline)."),
    model: str | None = typer.Option(None, help="Hub id or local diffusers directory of a Wan I2V model."),
    adapter: Path | None = typer.Option(None, help="DreamStyle token-LoRA adapter (directory or .safetensors)."),
    steps: int = typer.Option(50, min=1, max=1000, help="Denoising steps."),
    guidance: float = typer.Option(5.0, min=0.0, max=50.0, help="Classifier-free guidance scale."),
    seed: int = typer.Option(0, min=0, help="Random seed (segment k uses seed + k)."),
    height: int | None = typer.Option(None, min=16, max=4096, help="Working height (rounded to 16)."),
    width: int | None = typer.Option(None, min=16, max=4096, help="Working width (rounded to 16)."),
    segment_frames: int | None = typer.Option(None, "--segment-frames", min=5, help="Frames per segment (4k+1)."),
    overlap: int = typer.Option(4, min=1, help="Frames shared by consecutive segments (cross-faded)."),
    color_anchor: float = typer.Option(1.0, "--color-anchor", min=0.0, max=1.0,
                                       help="Anchor colours of later segments to the first (0 = off)."),
    resume: bool = typer.Option(False, help="Continue a killed long-video run from its work directory."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Where finished segments are kept."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, mps."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16 (VAE and CLIP stay float32)."),
    cpu_offload: bool = typer.Option(False, "--cpu-offload", help="Model CPU offload (accelerators only)."),
    vae_tiling: bool = typer.Option(False, "--vae-tiling", help="Tiled VAE decoding to save memory."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> None:
    """Stylize a video; the mode follows from the options: --prompt alone (text), --style-image
    (style images; with --style-prompt: fused), --first-frame (propagate a stylized first frame)."""
    from vidstyle.cli.stylize import StylizeOptions
    from vidstyle.cli.stylize import stylize as run_stylize

    written = run_stylize(StylizeOptions(
        input=input, output=output, prompt=prompt, style_images=style_image, first_frame=first_frame,
        style_prompt=style_prompt, negative_prompt=negative_prompt, preset=preset, model=model, adapter=adapter,
        steps=steps, guidance=guidance, seed=seed, height=height, width=width, segment_frames=segment_frames,
        overlap=overlap, color_anchor=color_anchor, resume=resume, work_dir=work_dir, device=device,
        dtype=dtype, cpu_offload=cpu_offload, vae_tiling=vae_tiling, quiet=quiet,
    ))
    print(written)


@app.command()
def demo(
    output_dir: Path = typer.Option(Path("vidstyle-demo"), "-o", "--output-dir", help="Where results go."),
    steps: int = typer.Option(4, min=1, max=100, help="Denoising steps per segment."),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Stylize the bundled sample clip in every mode, fully offline, and print where the results are."""
    from vidstyle.cli.demo import run_demo

    run_demo(output_dir, steps=steps, quiet=quiet)


def run() -> None:
    """Console-script entry point (library chatter off: progress and errors are ours)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    sys.exit(run_cli(typer.main.get_command(app)))


if __name__ == "__main__":
    run()
