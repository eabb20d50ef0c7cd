"""The options of `vidstyle data curate` and their cheap checks (nothing is loaded or written here)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidstyle.backbones.presets import Preset, defaults_for, get_preset
from vidstyle.data.curation.filters import DEFAULT_MIN_CONTENT, DEFAULT_MIN_STYLE, DEFAULT_MOTION_RANGE, Thresholds
from vidstyle.data.curation.plan import RawVideo
from vidstyle.data.curation.sources import IPAdapterSource, check_source, parse_ip_adapter
from vidstyle.data.curation.stylizers import DEFAULT_IP_ADAPTER, DEFAULT_STYLIZER
from vidstyle.errors import VidstyleInputError
from vidstyle.sizing import MAX_SIDE, MULTIPLE, working_size
from vidstyle.video_io import probe_video

PROPAGATORS = ("wan", "toy")
TOY_FRAMES = 81  # frame limit of the toy propagator (the wan one uses its preset's segment length)
TOY_REF_SIZE = 64


@dataclass
class CurateOptions:
    """The options of one `vidstyle data curate` call (CLI names, CLI defaults)."""

    raw: Path
    styles: Path
    output: Path
    captioner: str = "template"
    stylizer: str = DEFAULT_STYLIZER
    ip_adapter: str = DEFAULT_IP_ADAPTER
    propagator: str = "wan"
    preset: str | None = None
    model: str | None = None
    csd: Path | None = None
    min_style: float = DEFAULT_MIN_STYLE
    min_content: float = DEFAULT_MIN_CONTENT
    motion_range: str = ",".join(str(v) for v in DEFAULT_MOTION_RANGE)
    styles_per_video: int = 1
    frames: int | None = None
    height: int | None = None
    width: int | None = None
    steps: int = 30
    strength: float = 0.6
    seed: int = 0
    shard: str = "0/1"
    device: str = "cpu"
    dtype: str = "float32"
    quiet: bool = False


def parse_motion_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` with ``0 <= LO < HI`` (``HI`` may be ``inf``)."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise VidstyleInputError(f"--motion-range must be LO,HI (e.g. 0.3,3.0), got {text!r}") from None
    if not (0 <= low < high) or math.isnan(high):
        raise VidstyleInputError(f"--motion-range needs 0 <= LO < HI, got {text!r}")
    return low, high


def thresholds(o: CurateOptions) -> Thresholds:
    for name, value in (("--min-style", o.min_style), ("--min-content", o.min_content)):
        if not -1.0 <= value <= 1.0:
            raise VidstyleInputError(f"{name} is a cosine/correlation threshold in [-1, 1], got {value}")
    return Thresholds(min_style=o.min_style, min_content=o.min_content, motion_range=parse_motion_range(o.motion_range))


def wan_preset(o: CurateOptions) -> Preset | None:
    """The preset whose defaults apply to ``--propagator wan`` (None for toy); refuses text-to-video presets."""
    if o.propagator not in PROPAGATORS:
        raise VidstyleInputError(f"--propagator must be one of {', '.join(PROPAGATORS)}, got {o.propagator!r}")
    if o.propagator == "toy":
        if o.preset is not None or o.model is not None:
            raise VidstyleInputError("--preset and --model choose the wan propagator's model; --propagator toy "
                                     "takes neither")
        return None
    if o.preset is not None and o.model is not None:
        raise VidstyleInputError("give either --preset or --model, not both")
    if o.model is not None:
        check_source(o.model, "--model", "model_index.json")
        return defaults_for(None, o.model)
    preset = defaults_for(o.preset, None)
    if o.preset is not None and get_preset(o.preset).kind != "i2v":
        raise VidstyleInputError(f"preset {o.preset!r} is text-to-video; propagation needs an image-to-video "
                                 "preset (e.g. wan2.1-i2v-14b-480p, tiny)")
    return preset


def frame_limit(o: CurateOptions, preset: Preset | None) -> int:
    """``--frames`` (default: the wan preset's segment length, 81 for toy), checked to be ``4k+1 >= 5``."""
    frames = o.frames if o.frames is not None else (preset.segment_frames if preset else TOY_FRAMES)
    if frames < 5 or frames % 4 != 1:
        raise VidstyleInputError(f"--frames must be 4k+1 and at least 5 (e.g. 17, 81), got {frames}")
    return frames


def size_rule(o: CurateOptions, preset: Preset | None) -> Callable[[RawVideo], tuple[int, int]]:
    """A video's working ``(height, width)``: the wan preset's area at the video's aspect ratio, or
    ``--height``/``--width`` (multiples of 16; one of them: the other follows the aspect ratio); for toy with
    neither, the video's own size."""
    for name, value in (("--height", o.height), ("--width", o.width)):
        if value is not None and not MULTIPLE <= value <= MAX_SIDE:
            raise VidstyleInputError(f"{name} must be between {MULTIPLE} and {MAX_SIDE}, got {value}")

    def rule(video: RawVideo) -> tuple[int, int]:
        src_h, src_w = probe_video(video.path)
        if preset is None and o.height is None and o.width is None:
            return src_h, src_w
        area = preset.height * preset.width if preset else src_h * src_w
        return working_size(src_h, src_w, area, o.height, o.width)

    return rule


def toy_ref_size(o: CurateOptions) -> int:
    """Side of generated toy references: the smaller of ``--height``/``--width`` given, else 64."""
    given = [v for v in (o.height, o.width) if v is not None]
    return min(given) if given else TOY_REF_SIZE


def captioner_source(o: CurateOptions) -> str:
    return "template" if o.captioner == "template" else check_source(o.captioner, "--captioner", "config.json")


def stylizer_source(o: CurateOptions) -> tuple[str, IPAdapterSource | None]:
    if o.stylizer == "toy":
        return "toy", None
    if not 0.0 < o.strength <= 1.0:
        raise VidstyleInputError(f"--strength must be in (0, 1], got {o.strength}")
    return check_source(o.stylizer, "--stylizer", "model_index.json"), parse_ip_adapter(o.ip_adapter)
