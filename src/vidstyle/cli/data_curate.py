"""`vidstyle data curate`: DreamStyle's data recipe (caption, stylize the first frame, propagate, filter)."""

from __future__ import annotations

from pathlib import Path

import typer

from vidstyle.data.curation.filters import DEFAULT_MIN_CONTENT, DEFAULT_MIN_STYLE, DEFAULT_MOTION_RANGE
from vidstyle.data.curation.stylizers import DEFAULT_IP_ADAPTER, DEFAULT_STYLIZER


def register(app: typer.Typer) -> None:
    """Add this command to the `vidstyle data` group."""
    app.command("curate")(curate)


def curate(
    raw: Path = typer.Option(..., "--raw", help="Folder of raw videos (.mp4 .mov .mkv .webm .avi .gif)."),
    styles: Path = typer.Option(..., "--styles", help='JSONL, one style a line: {"id", "description", "refs"}.'),
    output: Path = typer.Option(..., "-o", "--output", help="Dataset folder to write (or to continue)."),
    captioner: str = typer.Option("template", help="'template' (from the file name) or a VLM hub id / directory."),
    stylizer: str = typer.Option(DEFAULT_STYLIZER, help="'toy' or an SDXL img2img hub id / directory."),
    ip_adapter: str = typer.Option(DEFAULT_IP_ADAPTER, "--ip-adapter",
                                   help="IP-Adapter weights: owner/repo/[subfolder/]file or a local file."),
    propagator: str = typer.Option("wan", help="'wan' (Wan I2V from the stylized first frame) or 'toy'."),
    preset: str | None = typer.Option(None, help="Wan preset for --propagator wan ('tiny': offline, random)."),
    model: str | None = typer.Option(None, help="Wan I2V hub id or diffusers directory (instead of --preset)."),
    csd: Path | None = typer.Option(None, help="CSD weights file for the style filter (skipped without)."),
    min_style: float = typer.Option(DEFAULT_MIN_STYLE, "--min-style", help="Keep samples with CSD >= this."),
    min_content: float = typer.Option(DEFAULT_MIN_CONTENT, "--min-content",
                                      help="Keep samples with content consistency >= this."),
    motion_range: str = typer.Option(",".join(str(v) for v in DEFAULT_MOTION_RANGE), "--motion-range",
                                     help="Keep samples whose motion ratio (stylized / raw) is in LO,HI."),
    styles_per_video: int = typer.Option(1, "--styles-per-video", min=1, help="Styles paired with each video."),
    frames: int | None = typer.Option(None, help="Frames per sample, 4k+1 (default: the preset's; toy 81)."),
    height: int | None = typer.Option(None, help="Working height (default: the preset's area; toy: the video's)."),
    width: int | None = typer.Option(None, help="Working width."),
    steps: int = typer.Option(30, min=1, max=1000, help="Denoising steps of the stylizer and the propagator."),
    strength: float = typer.Option(0.6, help="Image-to-image strength of the stylizer (0, 1]."),
    seed: int = typer.Option(0, min=0, help="Seed of the style assignment and of every sample."),
    shard: str = typer.Option("0/1", help="i/n: process the samples k with k % n == i."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, mps."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> None:
    """Curate raw videos into a stylized training dataset: caption each video, stylize its first frame in each of
    its styles, propagate that frame through the video and keep the samples that pass the style, content and motion
    filters. Rerunning with the same options continues the folder; --shard splits the work between processes."""
    from rich.console import Console

    from vidstyle.data.curation.command import run_curate, summary
    from vidstyle.data.curation.options import CurateOptions

    options = CurateOptions(
        raw=raw, styles=styles, output=output, captioner=captioner, stylizer=stylizer, ip_adapter=ip_adapter,
        propagator=propagator, preset=preset, model=model, csd=csd, min_style=min_style, min_content=min_content,
        motion_range=motion_range, styles_per_video=styles_per_video, frames=frames, height=height, width=width,
        steps=steps, strength=strength, seed=seed, shard=shard, device=device, dtype=dtype, quiet=quiet,
    )
    console = Console(stderr=True)
    report = run_curate(options, console=console)
    console.print(summary(options, report), soft_wrap=True, highlight=False, markup=False)
    print(output)
