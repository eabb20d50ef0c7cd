"""`vidstyle generate`: StyleMaster stylized generation, prompt + style image -> video (or image)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from rich.console import Console

from vidstyle.adapters.serialization import atomic_write
from vidstyle.backbones import parse_device, parse_dtype
from vidstyle.cli.methods import METHODS, check_weights, load_method, method_preset
from vidstyle.cli.stylize import check_output, progress_bar
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.segments import valid_frame_count
from vidstyle.sizing import round_to_multiple
from vidstyle.video_io import load_image, write_video

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class GenerateOptions:
    """The options of one `vidstyle generate` call."""

    prompt: str
    style_image: Path
    output: Path
    frames: int | None = None
    height: int | None = None
    width: int | None = None
    fps: float = 16.0
    preset: str | None = None
    model: str | None = None
    weights: Path | None = None
    negative_prompt: str | None = None
    steps: int = 50
    guidance: float = 8.0
    style_guidance: float = 4.0
    motion_scale: float | None = None
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    cpu_offload: bool = False
    vae_tiling: bool = False
    quiet: bool = False


def generate(o: GenerateOptions, console: Console | None = None) -> Path:
    """Generate; a 1-frame result may go to an image file, anything else to an .mp4."""
    console = console or Console(stderr=True, quiet=o.quiet)
    method = METHODS["stylemaster"]
    output = check_output(o.output, None, (".mp4", ".m4v", *IMAGE_SUFFIXES))
    preset = method_preset(method, o.preset, o.model)
    frames = o.frames or preset.segment_frames
    if not valid_frame_count(frames):
        raise VidstyleInputError(f"--frames must be 4k+1 (1, 5, ..., 81), got {frames}")
    if output.suffix.lower() in IMAGE_SUFFIXES and frames != 1:
        raise VidstyleInputError(f"an image output ({output.name}) needs --frames 1")
    height = round_to_multiple(o.height or preset.height)
    width = round_to_multiple(o.width or preset.width)
    device, dtype = parse_device(o.device), parse_dtype(o.dtype)
    check_weights(method, preset, None, o.weights)
    style = load_image(o.style_image)
    pipe = load_method(method, preset, o.model, None, o.weights, dtype, device, o.cpu_offload, o.vae_tiling, console)
    with progress_bar(console) as progress:
        task = progress.add_task("generating", total=o.steps)
        result = pipe(o.prompt, style_image=style, negative_prompt=o.negative_prompt, height=height, width=width,
                      num_frames=frames, num_inference_steps=o.steps, guidance_scale=o.guidance,
                      style_guidance_scale=o.style_guidance, motion_scale=o.motion_scale,
                      generator=torch.Generator().manual_seed(o.seed),
                      callback_on_step_end=lambda p, i, t, k: progress.update(task, completed=i + 1) or {}).frames[0]
    pixels = np.clip(np.rint(result * 255), 0, 255).astype(np.uint8)
    if output.suffix.lower() in IMAGE_SUFFIXES:
        atomic_write(output, lambda tmp: Image.fromarray(pixels[0]).save(tmp, format=_pil_format(output)))
    else:
        write_video(pixels, output, Fraction(o.fps).limit_denominator(1001))
    return output


def _pil_format(path: Path) -> str:
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(path.suffix.lower(), "PNG")
