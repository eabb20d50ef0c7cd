"""The `vidstyle` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from vidstyle.cli.errors import run_cli

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Stylize videos with diffusion models (DreamStyle and StyleMaster on Wan2.1).")


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
    guidance: float | None = typer.Option(None, min=0.0, max=50.0,
                                          help="Classifier-free guidance (default 5 DreamStyle, 8 StyleMaster)."),
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
    method: str = typer.Option("dreamstyle", help="dreamstyle (Wan I2V) or stylemaster (Wan T2V + ControlNet)."),
    weights: Path | None = typer.Option(None, help="StyleMaster weights directory (save_stylemaster)."),
    motion_scale: float | None = typer.Option(None, "--motion-scale", min=-5.0, max=5.0,
                                              help="StyleMaster motion LoRA alpha (default: its saved -0.3)."),
    style_guidance: float | None = typer.Option(
        None, "--style-guidance", min=0.0, max=50.0,
        help="Style guidance toward the style images (StyleMaster default 4; DreamStyle: off unless given)."),
) -> None:
    """Stylize a video. DreamStyle: the mode follows from the options: --prompt alone (text), --style-image
    (style images; with --style-prompt: fused), --first-frame (propagate a stylized first frame).
    StyleMaster (--method stylemaster): one --style-image, structure kept by the gray-tile ControlNet."""
    from vidstyle.cli.stylize import StylizeOptions
    from vidstyle.cli.stylize import stylize as run_stylize

    written = run_stylize(StylizeOptions(
        input=input, output=output, prompt=prompt, style_images=style_image, first_frame=first_frame,
        style_prompt=style_prompt, negative_prompt=negative_prompt, preset=preset, model=model, adapter=adapter,
        steps=steps, guidance=guidance, seed=seed, height=height, width=width, segment_frames=segment_frames,
        overlap=overlap, color_anchor=color_anchor, resume=resume, work_dir=work_dir, device=device,
        dtype=dtype, cpu_offload=cpu_offload, vae_tiling=vae_tiling, quiet=quiet, method=method, weights=weights,
        motion_scale=motion_scale, style_guidance=style_guidance,
    ))
    print(written)


@app.command()
def generate(
    prompt: str = typer.Option(..., help="What to generate."),
    style_image: Path = typer.Option(..., "--style-image", help="The style reference image."),
    output: Path = typer.Option(..., "-o", "--output", help=".mp4, or an image file with --frames 1."),
    frames: int | None = typer.Option(None, min=1, max=1001, help="Frames (4k+1; 1 = an image)."),
    height: int | None = typer.Option(None, min=16, max=4096, help="Height (rounded to 16)."),
    width: int | None = typer.Option(None, min=16, max=4096, help="Width (rounded to 16)."),
    fps: float = typer.Option(16.0, min=1.0, max=240.0, help="Frame rate of the written video."),
    preset: str | None = typer.Option(None, help="Backbone preset (default wan2.1-t2v-1.3b; 'tiny-t2v' offline)."),
    model: str | None = typer.Option(None, help="Hub id or local diffusers directory of a Wan T2V model."),
    weights: Path | None = typer.Option(None, help="StyleMaster weights directory (save_stylemaster)."),
    negative_prompt: str | None = typer.Option(None, "--negative-prompt"),
    steps: int = typer.Option(50, min=1, max=1000),
    guidance: float = typer.Option(8.0, min=0.0, max=50.0, help="Text guidance."),
    style_guidance: float = typer.Option(4.0, "--style-guidance", min=0.0, max=50.0, help="Style guidance."),
    motion_scale: float | None = typer.Option(None, "--motion-scale", min=-5.0, max=5.0,
                                              help="Motion LoRA alpha (default: its saved -0.3)."),
    seed: int = typer.Option(0, min=0),
    device: str = typer.Option("cpu"),
    dtype: str = typer.Option("float32"),
    cpu_offload: bool = typer.Option(False, "--cpu-offload"),
    vae_tiling: bool = typer.Option(False, "--vae-tiling"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """StyleMaster: generate a video (or an image) from a prompt in the style of an image."""
    from vidstyle.cli.generate import GenerateOptions
    from vidstyle.cli.generate import generate as run_generate

    print(run_generate(GenerateOptions(
        prompt=prompt, style_image=style_image, output=output, frames=frames, height=height, width=width, fps=fps,
        preset=preset, model=model, weights=weights, negative_prompt=negative_prompt, steps=steps,
        guidance=guidance, style_guidance=style_guidance, motion_scale=motion_scale, seed=seed, device=device,
        dtype=dtype, cpu_offload=cpu_offload, vae_tiling=vae_tiling, quiet=quiet,
    )))


@app.command()
def demo(
    output_dir: Path = typer.Option(Path("vidstyle-demo"), "-o", "--output-dir", help="Where results go."),
    steps: int = typer.Option(20, min=1, max=100, help="Denoising steps per segment."),
    preset: str = typer.Option("toyworld", help="toyworld (the trained toy models that ship) or tiny (random)."),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Stylize a held-out toy clip in every mode (DreamStyle's four, StyleMaster transfer and generation),
    fully offline; writes the clips and a contact sheet and prints where they are."""
    from vidstyle.cli.demo import run_demo

    run_demo(output_dir, steps=steps, quiet=quiet, preset=preset)


@app.command()
def cache(
    dataset: Path = typer.Argument(..., help="A dataset folder with manifest.jsonl (docs/dataset.md)."),
    output: Path = typer.Option(..., "-o", "--output", help="The cache directory to write (resumable)."),
    preset: str | None = typer.Option(None, help="Backbone preset (offline: 'tiny', or 'tiny-t2v' for motion)."),
    model: str | None = typer.Option(None, help="Hub id or local directory of a Wan I2V model."),
    height: int = typer.Option(480, min=16, max=4096),
    width: int = typer.Option(832, min=16, max=4096),
    max_frames: int | None = typer.Option(81, "--max-frames", min=1, help="Frames kept per video (then 4k+1)."),
    on_error: str = typer.Option("skip", "--on-error", help="skip (count and go on) or stop at a bad row."),
    shard: str = typer.Option("0/1", help="i/n: this process caches every n-th sample from the i-th."),
    device: str = typer.Option("cpu"),
    dtype: str = typer.Option("float32"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
    kind: str = typer.Option("dreamstyle", help="dreamstyle (Wan I2V); style, motion or controlnet (Wan T2V)."),
    frames: int = typer.Option(81, min=1, max=1001, help="motion: frames per still clip (4k+1)."),
    clip_model: str = typer.Option("laion/CLIP-ViT-H-14-laion2B-s32B-b79K", "--clip-model",
                                   help="style: the CLIP the extractor uses ('tiny' offline)."),
    tile: str = typer.Option("gray", help="controlnet: the control video, gray (the paper) or rgb (ablation)."),
) -> None:
    """Encode a dataset once (VAE latents, text and CLIP embeddings) so training runs only the model."""
    from vidstyle.cli.train import run_cache

    print(run_cache(dataset, output, preset, model, height, width, max_frames, on_error, shard, device, dtype,
                    quiet, kind, frames, clip_model, tile))


@app.command()
def train(
    what: str = typer.Argument(..., help="dreamstyle; StyleMaster: style, motion, controlnet, projection; "
                                         "toy-world bases: vae, base."),
    config: Path = typer.Option(..., "--config", help="YAML config (see docs/training.md)."),
    resume: bool = typer.Option(False, help="Continue from the latest checkpoint in output_dir."),
) -> None:
    """Train a learned part with accelerate (works under `accelerate launch`)."""
    from vidstyle.cli.train import run_train

    export = run_train(what, config, resume)
    if int(os.environ.get("RANK", "0")) == 0:  # under a multi-process launch, say it once
        print(export)


@app.command()
def evaluate(
    pred: Path = typer.Option(..., "--pred", help="Folder of outputs named <manifest id>.mp4 (or an image)."),
    ref: Path = typer.Option(..., "--ref", help="Dataset folder (or its manifest.jsonl): raw, refs, captions."),
    output: Path = typer.Option(..., "-o", "--output", help="Report path: writes REPORT.json and REPORT.html."),
    weights: Path | None = typer.Option(None, help="Folder of encoder weights (see docs/evaluation.md)."),
    clip_model: str | None = typer.Option(None, "--clip-model", help="CLIP for CLIP-T (default: WEIGHTS/clip)."),
    dino_model: str | None = typer.Option(None, "--dino-model", help="DINO ViT (default: WEIGHTS/dino)."),
    fid_features: str = typer.Option("inception", "--fid-features", help="inception (as the papers) or dinov2."),
    fid_frames: int = typer.Option(16, "--fid-frames", min=1, help="Evenly spaced frames per video for FID."),
    device: str = typer.Option("cpu"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Score stylized videos (CSD, CLIP-T, DINO, LPIPS, FID/ArtFID, PSNR/SSIM, VBench motion); JSON + HTML."""
    from vidstyle.cli.evaluate import run_evaluate

    for path in run_evaluate(pred, ref, output, weights, clip_model, dino_model, fid_features, fid_frames,
                             device, quiet):
        print(path)


def _add_groups() -> None:
    from vidstyle.cli.bench import bench_app
    from vidstyle.cli.data import data_app

    app.add_typer(data_app, name="data")
    app.add_typer(bench_app, name="bench")


_add_groups()


def run() -> None:
    """Console-script entry point."""
    sys.exit(run_cli(typer.main.get_command(app)))


if __name__ == "__main__":
    run()
