"""`vidstyle stylize`: validate everything cheap first, then load the model, stylize and write atomically."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidstyle.backbones import parse_device, parse_dtype
from vidstyle.backbones.presets import Preset
from vidstyle.backbones.shipped import toyworld_dir
from vidstyle.cli.methods import Method, check_weights, get_method, load_method, method_preset, with_shipped_defaults
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.dreamstyle import dreamstyle_mode
from vidstyle.pipelines.long_video import StyleJob, stylize_frames
from vidstyle.pipelines.segments import plan_segments, valid_frame_count
from vidstyle.sizing import working_size
from vidstyle.video_io import load_image, probe_video, read_video, write_video

OUTPUT_SUFFIXES = (".mp4", ".m4v")


@dataclass
class StylizeOptions:
    """The options of one `vidstyle stylize` call (CLI names, CLI defaults)."""

    input: Path
    output: Path
    prompt: str | None = None
    style_images: list[Path] = field(default_factory=list)
    first_frame: Path | None = None
    style_prompt: str | None = None
    negative_prompt: str | None = None
    preset: str | None = None
    model: str | None = None
    adapter: Path | None = None
    steps: int = 50
    guidance: float | None = None  # the method's default (DreamStyle 5, StyleMaster 8)
    seed: int = 0
    height: int | None = None
    width: int | None = None
    segment_frames: int | None = None
    overlap: int = 4
    color_anchor: float = 1.0
    resume: bool = False
    work_dir: Path | None = None
    device: str = "cpu"
    dtype: str = "float32"
    cpu_offload: bool = False
    vae_tiling: bool = False
    quiet: bool = False
    method: str = "dreamstyle"
    weights: Path | None = None
    motion_scale: float | None = None
    style_guidance: float | None = None  # the method's default (DreamStyle off, StyleMaster 4)


def stylize(options: StylizeOptions, console: Console | None = None) -> Path:
    """Run one stylization; every user error raises :class:`VidstyleInputError` before OUTPUT exists."""
    o = options
    console = console or Console(stderr=True, quiet=o.quiet)
    output = check_output(o.output, o.input)
    method = get_method(o.method)
    _check_conditions(o)
    preset = method_preset(method, o.preset, o.model)
    device, dtype = parse_device(o.device), parse_dtype(o.dtype)
    segment_frames = o.segment_frames or preset.segment_frames
    if not valid_frame_count(segment_frames) or segment_frames < 5:
        raise VidstyleInputError(f"--segment-frames must be 4k+1 and at least 5 (e.g. 17, 81), got {segment_frames}")
    if not 1 <= o.overlap < segment_frames:
        raise VidstyleInputError(f"--overlap must be between 1 and {segment_frames - 1}, got {o.overlap}")
    check_weights(method, preset, o.adapter, o.weights)
    source_height, source_width = probe_video(o.input)
    height, width = working_size(source_height, source_width, preset.height * preset.width, o.height, o.width)
    video = read_video(o.input, size=(height, width))  # resized while decoding: full-size frames never pile up
    style_images = [load_image(p) for p in o.style_images]
    first_frame = load_image(o.first_frame) if o.first_frame else None

    pipe = load_method(method, preset, o.model, o.adapter, o.weights, dtype, device, o.cpu_offload, o.vae_tiling,
                       console)
    job = StyleJob(
        prompt=o.prompt, style_images=style_images, first_frame=first_frame, style_prompt=o.style_prompt,
        negative_prompt=o.negative_prompt, height=height, width=width, steps=o.steps,
        guidance=method.guidance if o.guidance is None else o.guidance, seed=o.seed, segment_frames=segment_frames,
        overlap=o.overlap, color_anchor=o.color_anchor, model_id=_model_id(o, method, preset), method=method.name,
        style_guidance=method.style_guidance if o.style_guidance is None else o.style_guidance,
        motion_scale=o.motion_scale,
    )
    segments = plan_segments(video.num_frames, segment_frames, o.overlap)
    work_dir = o.work_dir or output.with_name(f".{output.name}.vidstyle-work")
    with progress_bar(console) as progress:
        task = progress.add_task(f"stylizing {len(segments)} segment(s)", total=len(segments) * o.steps)
        styled = stylize_frames(
            pipe, video.frames, job, work_dir=work_dir, resume=o.resume,
            on_step=lambda seg, step, steps: progress.update(task, completed=seg * steps + step + 1),
        )
    write_video(styled, output, video.fps, audio_source=video.source, size=video.source_size)
    return output


def _check_conditions(o: StylizeOptions) -> None:
    if o.method == "stylemaster":
        if len(o.style_images) != 1:
            raise VidstyleInputError("--method stylemaster takes exactly one --style-image")
        for given, name in ((o.first_frame, "--first-frame"), (o.style_prompt, "--style-prompt")):
            if given:
                raise VidstyleInputError(f"{name} is a DreamStyle option; --method stylemaster does not take it")
        return
    try:
        dreamstyle_mode(o.prompt, o.style_images, o.first_frame, o.style_prompt)
    except ValueError as err:
        raise VidstyleInputError(f"{err} (--prompt, --style-image or --first-frame)") from None
    if o.style_guidance is not None and not o.style_images:
        raise VidstyleInputError("--style-guidance guides toward the style images: give --style-image")


def check_output(output: Path, source: Path | None = None, suffixes: tuple[str, ...] = OUTPUT_SUFFIXES) -> Path:
    output = Path(output)
    if output.suffix.lower() not in suffixes:
        raise VidstyleInputError(f"output must be a {' or '.join(suffixes)} file, got {output.name}")
    if output.is_dir():
        raise VidstyleInputError(f"output {output} is a directory")
    if not output.parent.is_dir():
        raise VidstyleInputError(f"output directory does not exist: {output.parent}")
    if source is not None and Path(source).exists() and output.exists() and output.resolve() == Path(source).resolve():
        raise VidstyleInputError("output would overwrite the input video")
    return output


def _model_id(o: StylizeOptions, method: Method, preset: Preset) -> str:
    """The backbone plus a hash of the weight files in use, shipped defaults included (part of the resume
    fingerprint)."""
    identity = f"{o.method}:{o.model or preset.name}"
    adapter, weights = with_shipped_defaults(method, preset, o.adapter, o.weights)
    files = []
    if adapter is not None:
        files = [adapter] if adapter.is_file() else sorted(adapter.glob("*.safetensors"))
    if weights is not None:
        files = sorted(Path(weights).glob("*/*.safetensors"))
    if preset.shipped and o.model is None:  # the shipped backbone's own weights
        files += sorted(toyworld_dir().glob("*.safetensors"))
    for path in files:
        identity += "+" + hashlib.sha256(path.read_bytes()).hexdigest()
    return identity


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)
