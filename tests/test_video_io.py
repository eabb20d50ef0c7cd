"""Tests for vidstyle.video_io; every fixture is generated in tmp_path with PyAV / PIL."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import audio_info, dir_listing, make_media, smooth_frames  # noqa: E402
from PIL import Image

from vidstyle import video_io
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import Video, fit_image, has_audio, load_image, read_video, resize_frames, write_video

# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    ("num", "height", "width", "fps"),
    [(11, 29, 37, Fraction(24000, 1001)), (10, 48, 64, Fraction(30)), (3, 17, 20, Fraction(25))],
)
def test_write_read_round_trip(tmp_path: Path, num: int, height: int, width: int, fps: Fraction) -> None:
    frames = smooth_frames(num, height, width)
    out = tmp_path / "out.mp4"
    write_video(frames, out, fps)
    video = read_video(out)
    assert isinstance(video, Video)
    assert (video.num_frames, video.height, video.width) == (num, height, width)
    assert video.frames.shape == (num, height, width, 3) and video.frames.dtype == np.uint8
    assert video.fps == fps and isinstance(video.fps, Fraction)
    assert video.source == out
    assert np.abs(video.frames.astype(int) - frames.astype(int)).mean() < 6
    assert not has_audio(out)
    assert dir_listing(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize(
    ("fps", "expected"), [(30000 / 1001, Fraction(30000, 1001)), (12.5, Fraction(25, 2)), (24, Fraction(24))]
)
def test_write_float_fps_is_exact_rational(tmp_path: Path, fps: float, expected: Fraction) -> None:
    out = tmp_path / "f.mp4"
    write_video(smooth_frames(4, 16, 16), out, fps)
    assert read_video(out).fps == expected


def test_read_other_container(tmp_path: Path) -> None:
    src = make_media(tmp_path / "in.mkv", smooth_frames(7, 24, 32), fps=Fraction(15))
    video = read_video(src)
    assert (video.num_frames, video.height, video.width, video.fps) == (7, 24, 32, 15)


# ---------------------------------------------------------------- audio


def test_aac_audio_is_remuxed_unchanged(tmp_path: Path) -> None:
    src = make_media(tmp_path / "src.mp4", smooth_frames(10, 32, 32), audio="aac", audio_seconds=1.0)
    out = tmp_path / "out.mp4"
    write_video(smooth_frames(10, 32, 32), out, Fraction(30), audio_source=src)
    assert has_audio(out)
    codec, seconds, sizes = audio_info(out)
    assert codec == "aac" and seconds == pytest.approx(1.0, abs=0.1)
    assert sizes == audio_info(src)[2]  # packets copied, not re-encoded
    video = read_video(out)  # audio longer than the video does not change the video
    assert (video.num_frames, video.fps) == (10, 30)


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_pcm_audio_is_transcoded_to_aac(tmp_path: Path, suffix: str) -> None:
    src = make_media(tmp_path / f"s{suffix}", smooth_frames(6, 32, 32), audio="pcm_s16le", audio_seconds=0.5)
    assert audio_info(src)[0] == "pcm_s16le"
    out = tmp_path / "out.mp4"
    write_video(smooth_frames(6, 31, 33), out, Fraction(12), audio_source=src)
    codec, seconds, _ = audio_info(out)
    assert codec == "aac" and seconds == pytest.approx(0.5, abs=0.1)
    video = read_video(out)
    assert (video.num_frames, video.height, video.width, video.fps) == (6, 31, 33, 12)


def test_audio_only_source_is_accepted(tmp_path: Path) -> None:
    src = make_media(tmp_path / "a.wav", None, audio="pcm_s16le", audio_seconds=0.3)
    out = tmp_path / "out.mp4"
    write_video(smooth_frames(3, 16, 16), out, 10, audio_source=src)
    assert audio_info(out)[0] == "aac"


def test_no_audio_when_source_has_none(tmp_path: Path) -> None:
    src = make_media(tmp_path / "silent.mp4", smooth_frames(4, 16, 16))
    out = tmp_path / "out.mp4"
    write_video(smooth_frames(4, 16, 16), out, 30, audio_source=src)
    assert not has_audio(src) and not has_audio(out)


# ---------------------------------------------------------------- read errors


def _missing(path: Path) -> Path:
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _audio_only(path: Path) -> Path:
    return make_media(path.with_suffix(".m4a"), None, audio="aac", audio_seconds=0.2)


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _truncated_video(path: Path) -> Path:
    make_media(path, smooth_frames(20, 64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # mp4 index (moov) is at the end: cut off
    return path


def _truncated_faststart(path: Path) -> Path:
    write_video(smooth_frames(30, 64, 64), path, 30)  # index at the front: cut in the middle of the frames
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make",
    [_missing, _directory, _empty, _garbage, _audio_only, _truncated_video, _truncated_faststart],
    ids=["missing", "directory", "empty", "garbage", "audio-only", "truncated", "truncated-faststart"],
)
def test_read_video_errors(tmp_path: Path, make) -> None:
    path = make(tmp_path / "bad.mp4")
    with pytest.raises(VidstyleInputError, match=r"bad\.(mp4|m4a)") as info:
        read_video(path)
    assert "\n" not in str(info.value)


def test_read_video_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_media(tmp_path / "locked.mp4", smooth_frames(2, 16, 16))
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: pretend
        monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(VidstyleInputError, match="locked.mp4"):
        read_video(path)


def test_has_audio_errors(tmp_path: Path) -> None:
    with pytest.raises(VidstyleInputError, match="nope.mp4"):
        has_audio(tmp_path / "nope.mp4")
    with pytest.raises(VidstyleInputError, match="junk.mp4"):
        has_audio(_garbage(tmp_path / "junk.mp4"))


# ---------------------------------------------------------------- write failures


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((4, 16, 16), np.uint8),
        np.zeros((4, 16, 16, 4), np.uint8),
        np.zeros((0, 16, 16, 3), np.uint8),
        np.zeros((4, 16, 16, 3), np.float32),
        [[0]],
    ],
    ids=["3d", "4-channels", "no-frames", "float", "list"],
)
def test_write_rejects_bad_arrays(tmp_path: Path, frames) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ValueError):
        write_video(frames, tmp_path / "out.mp4", 30)
    assert dir_listing(tmp_path) == ["keep.txt"]


def test_failed_write_keeps_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous")
    with pytest.raises(VidstyleInputError, match="junk.wav"):
        write_video(smooth_frames(3, 16, 16), out, 30, audio_source=_garbage(tmp_path / "junk.wav"))
    assert out.read_bytes() == b"previous"
    assert dir_listing(tmp_path) == ["junk.wav", "out.mp4"]


def test_failure_mid_write_removes_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_media(tmp_path / "src.mp4", smooth_frames(3, 16, 16), audio="aac", audio_seconds=0.2)
    seen: list[str] = []

    def boom(*args: object) -> None:
        seen.extend(dir_listing(tmp_path))
        raise OSError("disk full")

    monkeypatch.setattr(video_io, "_mux_audio", boom)
    with pytest.raises(VidstyleInputError, match="out.mp4"):
        write_video(smooth_frames(3, 16, 16), tmp_path / "out.mp4", 30, audio_source=src)
    temps = [name for name in seen if name.startswith(".") and name.endswith(".tmp.mp4")]
    assert len(temps) == 1  # it was writing to a hidden temp file ...
    assert dir_listing(tmp_path) == ["src.mp4"]  # ... which is gone, and nothing is at out.mp4


def test_write_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(VidstyleInputError, match="missing"):
        write_video(smooth_frames(2, 16, 16), tmp_path / "missing" / "out.mp4", 30)
    assert dir_listing(tmp_path) == []


@pytest.mark.parametrize("fps", [0, -1, float("nan")])
def test_write_rejects_bad_fps(tmp_path: Path, fps: float) -> None:
    with pytest.raises(ValueError):
        write_video(smooth_frames(2, 16, 16), tmp_path / "out.mp4", fps)
    assert dir_listing(tmp_path) == []


# ---------------------------------------------------------------- images


def _assert_rgb(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    assert img.mode == "RGB" and img.size == size
    return np.asarray(img)


def test_load_image_rgba_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[:, :5] = (255, 0, 0, 255)  # opaque red left half, fully transparent right half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    pixels = _assert_rgb(load_image(tmp_path / "a.png"), (10, 8))
    assert (pixels[:, :5] == (255, 0, 0)).all() and (pixels[:, 5:] == 255).all()


def test_load_image_la_and_palette_transparency(tmp_path: Path) -> None:
    la = Image.new("LA", (6, 4), (0, 0))
    la.save(tmp_path / "la.png")
    assert (_assert_rgb(load_image(tmp_path / "la.png"), (6, 4)) == 255).all()
    pal = Image.new("P", (6, 4), 0)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.save(tmp_path / "p.png", transparency=0)
    pixels = _assert_rgb(load_image(tmp_path / "p.png"), (6, 4))
    assert tuple(pixels[0, 0]) == (0, 255, 0) and (pixels[1:] == 255).all()


def test_load_image_grey_palette_cmyk_webp(tmp_path: Path) -> None:
    Image.new("L", (5, 3), 100).save(tmp_path / "l.png")
    assert (_assert_rgb(load_image(tmp_path / "l.png"), (5, 3)) == 100).all()
    Image.new("RGB", (5, 3), (10, 20, 200)).convert("P").save(tmp_path / "p.gif")
    assert _assert_rgb(load_image(tmp_path / "p.gif"), (5, 3)).shape == (3, 5, 3)
    Image.new("CMYK", (9, 7), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    red = _assert_rgb(load_image(tmp_path / "c.jpg"), (9, 7)).astype(int)
    assert red[..., 0].mean() > 200 and red[..., 1:].mean() < 60
    Image.new("RGB", (12, 6), (0, 0, 255)).save(tmp_path / "w.webp", lossless=True)
    assert (_assert_rgb(load_image(tmp_path / "w.webp"), (12, 6)) == (0, 0, 255)).all()


def test_load_image_16_bit_grey(tmp_path: Path) -> None:
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "g16.png")
    assert (_assert_rgb(load_image(tmp_path / "g16.png"), (4, 4)) == 255).all()
    Image.fromarray(np.full((4, 4), 0.5, np.float32), mode="F").save(tmp_path / "f.tiff")
    assert (_assert_rgb(load_image(tmp_path / "f.tiff"), (4, 4)) == 128).all()


def _truncated_png(path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make",
    [_missing, _directory, _empty, _garbage, _truncated_png],
    ids=["missing", "directory", "empty", "garbage", "truncated"],
)
def test_load_image_errors(tmp_path: Path, make) -> None:
    with pytest.raises(VidstyleInputError, match=r"style\.png"):
        load_image(make(tmp_path / "style.png"))


# ---------------------------------------------------------------- resizing


@pytest.mark.parametrize(("height", "width"), [(16, 24), (31, 17), (64, 64), (9, 100)])
def test_resize_frames_exact_size(height: int, width: int) -> None:
    frames = smooth_frames(3, 40, 50)
    out = resize_frames(frames, height, width)
    assert out.shape == (3, height, width, 3) and out.dtype == np.uint8
    assert abs(out.astype(float).mean() - frames.astype(float).mean()) < 5


def test_resize_frames_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        resize_frames(np.zeros((2, 8, 8), np.uint8), 4, 4)
    with pytest.raises(ValueError):
        resize_frames(np.zeros((2, 8, 8, 3), np.uint8), 0, 4)


@pytest.mark.parametrize("src_size", [(100, 50), (50, 100), (33, 33), (7, 5)])
@pytest.mark.parametrize(("height", "width"), [(24, 32), (31, 17)])
def test_fit_image_exact_size(src_size: tuple[int, int], height: int, width: int) -> None:
    image = Image.new("RGB", src_size, (0, 128, 255))
    fitted = fit_image(image, height, width)
    assert fitted.size == (width, height)
    assert (np.asarray(fitted) == (0, 128, 255)).all()


def test_fit_image_center_crops() -> None:
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, 10:20] = 255  # white centre third
    fitted = np.asarray(fit_image(Image.fromarray(wide), 10, 10))
    assert fitted.mean() > 240


def test_read_with_size_resizes_while_decoding(tmp_path: Path) -> None:
    source = make_media(tmp_path / "in.mp4", smooth_frames(7, 48, 64), fps=Fraction(25))
    assert video_io.probe_video(source) == (48, 64)
    full = read_video(source)
    small = read_video(source, size=(24, 40))
    assert small.frames.shape == (7, 24, 40, 3) and small.source_size == (48, 64) == full.source_size
    expected = resize_frames(full.frames, 24, 40).astype(int)
    assert np.abs(small.frames.astype(int) - expected).mean() < 4


def test_write_with_size_resizes_while_encoding(tmp_path: Path) -> None:
    frames = smooth_frames(5, 24, 40)
    write_video(frames, tmp_path / "out.mp4", Fraction(25), size=(29, 37))
    back = read_video(tmp_path / "out.mp4")
    assert back.frames.shape == (5, 29, 37, 3)
    assert np.abs(back.frames.astype(int) - resize_frames(frames, 29, 37).astype(int)).mean() < 6


def test_probe_errors(tmp_path: Path) -> None:
    with pytest.raises(VidstyleInputError):
        video_io.probe_video(tmp_path / "missing.mp4")
    audio_only = make_media(tmp_path / "a.m4a", None, audio="aac")
    with pytest.raises(VidstyleInputError, match="no video stream"):
        video_io.probe_video(audio_only)


def test_encoding_is_deterministic(tmp_path: Path) -> None:
    import torch  # noqa: F401  (with torch loaded, the encoder's implicit conversion was seen to vary)

    frames = np.random.default_rng(0).integers(0, 256, (9, 48, 64, 3), dtype=np.uint8)
    for i in range(6):
        write_video(frames, tmp_path / f"{i}.mp4", Fraction(8))
    assert len({(tmp_path / f"{i}.mp4").read_bytes() for i in range(6)}) == 1
