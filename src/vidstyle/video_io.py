"""Reading and writing videos (PyAV) and loading style images (PIL).

Frames are always ``uint8`` arrays of shape ``[F, H, W, 3]`` in RGB order.
Every failure caused by a bad user file raises :class:`vidstyle.errors.VidstyleInputError`.
"""

from __future__ import annotations

import math
import os
import secrets
import struct
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageOps

from vidstyle.errors import VidstyleInputError

# Audio codecs that go into an mp4 unchanged; anything else is transcoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"})
AAC_SAMPLE_RATES = frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000})
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError)
_PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)


@dataclass
class Video:
    """A decoded video.

    ``frames`` is ``uint8 [F, H, W, 3]`` RGB; ``fps`` is the input's average frame rate;
    ``source`` is the file it came from (used to copy its audio track), if any;
    ``source_size`` is the stream's own ``(height, width)`` when frames were resized while decoding.
    """

    frames: np.ndarray
    fps: Fraction
    source: Path | None = None
    source_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.source_size is None:
            self.source_size = (int(self.frames.shape[1]), int(self.frames.shape[2]))

    @property
    def num_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        """Frame height ``H`` in pixels."""
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        """Frame width ``W`` in pixels."""
        return int(self.frames.shape[2])


def _check_input_file(path: str | Path, kind: str) -> Path:
    """Return ``path`` as a Path, or raise VidstyleInputError unless it is a readable, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise VidstyleInputError(f"{kind} file not found: {path}")
    if path.is_dir():
        raise VidstyleInputError(f"{kind} path is a directory, not a file: {path}")
    if not os.access(path, os.R_OK):
        raise VidstyleInputError(f"{kind} file is not readable (permission denied): {path}")
    if path.stat().st_size == 0:
        raise VidstyleInputError(f"{kind} file is empty: {path}")
    return path


def _one_line(err: BaseException) -> str:
    """The exception's message (without errno and file name for FFmpeg/OS errors) on one line."""
    message = getattr(err, "strerror", None) or str(err)
    return " ".join(str(message).split()) or type(err).__name__


def _stream_fps(stream: VideoStream, pts: list[int]) -> Fraction | None:
    """The stream's frame rate: average rate, guessed rate, else derived from frame pts and time_base."""
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate and rate > 0:
            return Fraction(rate)
    if len(pts) >= 2 and stream.time_base and max(pts) > min(pts):
        return Fraction(len(pts) - 1) / ((max(pts) - min(pts)) * Fraction(stream.time_base))
    return None


def probe_video(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of the first video stream of ``path``, without decoding it."""
    path = _check_input_file(path, "video")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VidstyleInputError(f"no video stream in {path}")
            stream = container.streams.video[0]
            if stream.codec_context is None or not stream.height or not stream.width:
                raise VidstyleInputError(f"unsupported video stream in {path}")
            return int(stream.height), int(stream.width)
    except _AV_ERRORS as err:
        if isinstance(err, VidstyleInputError):
            raise
        raise VidstyleInputError(f"cannot decode video {path}: {_one_line(err)}") from err


def read_video(path: str | Path, size: tuple[int, int] | None = None) -> Video:
    """Decode every frame of the first video stream of ``path`` into ``uint8 [F, H, W, 3]`` RGB.

    With ``size=(height, width)`` each frame is resized (bicubic) as it is decoded, so only frames of
    that size are ever held; ``Video.source_size`` keeps the stream's own size.
    """
    path = _check_input_file(path, "video")
    frames: list[np.ndarray] = []
    pts: list[int] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VidstyleInputError(f"no video stream in {path}")
            stream = container.streams.video[0]
            if stream.codec_context is None:
                raise VidstyleInputError(f"unsupported video codec in {path}")
            stream.thread_type = "AUTO"
            source_size = None
            for frame in container.decode(stream):
                source_size = source_size or (frame.height, frame.width)
                # one swscale thread: its default slice threading ("auto") is a suspect of decodes that varied
                array = frame.reformat(format="rgb24", threads=1).to_ndarray()
                # PIL, not swscale: swscale's resize was seen to vary from run to run here
                frames.append(resize_frames(array[None], *size)[0] if size is not None else array)
                if frame.pts is not None:
                    pts.append(frame.pts)
            fps = _stream_fps(stream, pts)
    except _AV_ERRORS as err:
        if isinstance(err, VidstyleInputError):
            raise
        raise VidstyleInputError(f"cannot decode video {path}: {_one_line(err)}") from err
    if not frames:
        raise VidstyleInputError(f"no decodable frames in video {path}")
    if fps is None:
        raise VidstyleInputError(f"cannot determine the frame rate of video {path}")
    return Video(frames=np.stack(frames), fps=fps, source=path, source_size=source_size)


def has_audio(path: str | Path) -> bool:
    """Whether the media file ``path`` has at least one audio stream (raises for unreadable files)."""
    path = _check_input_file(path, "media")
    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio) > 0
    except _AV_ERRORS as err:
        raise VidstyleInputError(f"cannot open media file {path}: {_one_line(err)}") from err


def _as_fraction(fps: Fraction | float) -> Fraction:
    """Exact rational frame rate; floats such as 29.97 or 30000/1001 are snapped to a small denominator."""
    if isinstance(fps, float):
        if not math.isfinite(fps):
            raise ValueError(f"fps must be finite, got {fps}")
        fps = Fraction(fps).limit_denominator(1001)
    fps = Fraction(fps)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return fps


def _add_audio_stream(output: OutputContainer, in_stream: AudioStream) -> tuple[AudioStream, bool]:
    """Add the output audio stream for ``in_stream``; the flag is True when packets can be copied as is."""
    if in_stream.codec_context is None:
        raise VidstyleInputError(f"unsupported audio codec in {in_stream.container.name}")
    if in_stream.codec_context.name in MP4_AUDIO_CODECS:
        try:
            return output.add_stream_from_template(in_stream), True
        except ValueError:  # the mp4 muxer refuses this codec after all: transcode
            pass
    rate = in_stream.sample_rate if in_stream.sample_rate in AAC_SAMPLE_RATES else 48000
    out_stream = output.add_stream("aac", rate=rate, layout="mono" if in_stream.channels == 1 else "stereo")
    out_stream.bit_rate = 192_000
    return out_stream, False


def _mux_audio(output: OutputContainer, in_stream: AudioStream, out_stream: AudioStream, copy: bool) -> None:
    """Mux all of ``in_stream`` into ``out_stream``: packets unchanged if ``copy``, else re-encoded."""
    source = in_stream.container
    if copy:
        for packet in source.demux(in_stream):
            if packet.dts is not None:  # skip the demuxer's final empty packet
                packet.stream = out_stream
                output.mux(packet)
        return
    samples = 0
    for frame in source.decode(in_stream):
        frame.pts, frame.time_base = samples, Fraction(1, frame.sample_rate)
        samples += frame.samples
        output.mux(out_stream.encode(frame))
    output.mux(out_stream.encode(None))


def write_video(
    frames: np.ndarray,
    path: str | Path,
    fps: Fraction | float,
    audio_source: str | Path | None = None,
    size: tuple[int, int] | None = None,
) -> None:
    """Encode ``uint8 [F, H, W, 3]`` RGB frames to an H.264 mp4 at ``path``, atomically.

    The output has exactly ``F`` frames of exactly ``H x W`` (odd sizes use yuv444p) at exactly ``fps``;
    with ``size=(height, width)`` each frame is resized (bicubic) to that size as it is encoded.
    The first audio stream of ``audio_source`` (if it has one) is copied, or transcoded to AAC when the mp4
    container cannot hold it. On failure nothing is left at ``path`` (an existing file there is untouched).
    Encoding is deterministic: the same frames give the same bytes.
    """
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        raise ValueError(f"frames must be a uint8 numpy array, got {getattr(frames, 'dtype', type(frames))}")
    if frames.ndim != 4 or frames.shape[3] != 3 or min(frames.shape[:3]) < 1:
        raise ValueError(f"frames must have shape [F, H, W, 3] with F, H, W >= 1, got {frames.shape}")
    rate = _as_fraction(fps)
    path = Path(path)
    if path.is_dir():
        raise VidstyleInputError(f"output path is a directory: {path}")
    if not path.parent.is_dir():
        raise VidstyleInputError(f"output directory does not exist: {path.parent} (for {path})")
    audio_path = None
    if audio_source is not None and has_audio(audio_source):
        audio_path = Path(audio_source)

    height, width = size if size is not None else frames.shape[1:3]
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {height}x{width}")
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp.mp4"
    try:
        with ExitStack() as stack:
            faststart = {"movflags": "+faststart"}  # index at the front: playable while downloading
            output = stack.enter_context(av.open(str(tmp), "w", format="mp4", options=faststart))
            # All streams must exist before the first packet is muxed (the header is written then).
            # one encoder thread: under load, threaded encodes of the same frames were seen to differ
            stream = output.add_stream("libx264", rate=rate, options={"crf": "18", "preset": "medium", "threads": "1"})
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
            stream.time_base = stream.codec_context.time_base = 1 / rate
            audio = None
            if audio_path is not None:
                in_audio = stack.enter_context(av.open(str(audio_path))).streams.audio[0]
                audio = (in_audio, *_add_audio_stream(output, in_audio))
            for i, array in enumerate(frames):
                if array.shape[:2] != (height, width):
                    array = resize_frames(array[None], height, width)[0]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
                # convert explicitly: the encoder's implicit RGB->YUV conversion was seen to vary from run to run
                frame = frame.reformat(format=stream.pix_fmt, threads=1)
                frame.pts, frame.time_base = i, 1 / rate
                output.mux(stream.encode(frame))
            output.mux(stream.encode(None))
            if audio is not None:
                _mux_audio(output, *audio)
        os.replace(tmp, path)
    except _AV_ERRORS as err:
        raise VidstyleInputError(f"cannot write video {path}: {_one_line(err)}") from err
    finally:
        tmp.unlink(missing_ok=True)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparency is composited on white, high bit depth greys are rescaled."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode.startswith("I") or img.mode == "F":
        grey = np.asarray(img, dtype=np.float64)
        if img.mode == "F" and grey.size and grey.max() <= 1.0:
            grey = grey * 255.0
        elif img.mode.startswith("I;16") or (grey.size and grey.max() > 255):
            grey = grey / 257.0
        return Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8), mode="L").convert("RGB")
    return img.convert("RGB")


def load_image(path: str | Path) -> Image.Image:
    """Load any image PIL can open (PNG, JPEG, WebP, ...) as an RGB ``PIL.Image`` (EXIF rotation applied)."""
    path = _check_input_file(path, "image")
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except _PIL_ERRORS as err:
        raise VidstyleInputError(f"cannot decode image {path}: {_one_line(err)}") from err


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize of ``uint8 [F, H, W, 3]`` frames to ``uint8 [F, height, width, 3]``."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise ValueError(f"frames must be uint8 [F, H, W, 3], got {frames.dtype} {frames.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))
    return out


def fit_image(image: Image.Image, height: int, width: int) -> Image.Image:
    """Cover-resize ``image`` (bicubic) and center-crop it to exactly ``width x height``."""
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    return ImageOps.fit(image, (width, height), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
