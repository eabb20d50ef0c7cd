"""`vidstyle cache`: encode a dataset once (VAE latents, UMT5 and CLIP embeddings) for DreamStyle training.

Resumable (samples already in the cache are skipped) and shardable (``shard=(i, n)`` takes every n-th
record from the i-th; each record belongs to exactly one shard). The index lists every cached sample in
manifest order; the run that finishes last rewrites it, so run once more without ``shard`` to be sure.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import PIL.Image
import torch

from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.dreamstyle import DreamStylePipeline
from vidstyle.training.cache import read_index, sample_path, write_cached_sample, write_index
from vidstyle.training.dreamstyle_objective import CachedSample

# what caches written before a setting was recorded hold (their index lacks the key)
LEGACY_SETTINGS: dict[str, Any] = {"tile": "gray"}


@torch.no_grad()
def encode_sample(pipe: DreamStylePipeline, sample, height: int, width: int) -> CachedSample:
    """Latents and embeddings of one :class:`~vidstyle.data.samples.Sample` (needs stylized video and refs)."""
    device = pipe._execution_device

    def video_latents(frames):
        return pipe.encode_pixels(pipe.video_to_pixels(frames, height, width))

    def image_latents(image):
        return pipe.encode_pixels(pipe.image_to_pixels(image, height, width))

    def text(prompt):
        return pipe.encode_prompt(prompt, do_classifier_free_guidance=False, max_sequence_length=512,
                                  device=device)[0]

    first = PIL.Image.fromarray(sample.stylized[0])
    return CachedSample(
        raw=video_latents(sample.raw), stylized=video_latents(sample.stylized), first_frame=image_latents(first),
        refs=torch.cat([image_latents(ref) for ref in sample.refs], dim=2), text_ns=text(sample.t_ns),
        text_sty=text(sample.t_sty or sample.t_ns),
        clip_refs=torch.cat([pipe.encode_image(ref, device) for ref in sample.refs], dim=0),
        clip_first=pipe.encode_image(first, device),
    )


def build_cache(kind: str, encode: Callable[[Any], Any], dataset: Path, out: Path, height: int, width: int,
                max_frames: int | None = None, on_error: str = "skip", shard: tuple[int, int] = (0, 1),
                on_sample: Callable[[str, str], None] | None = None,
                requirement: Callable[[Any], str | None] | None = None,
                extra_settings: dict[str, Any] | None = None) -> list[str]:
    """Cache every usable record of ``dataset`` into ``out`` with ``encode(sample)``; returns the cached ids.

    ``requirement(record)`` names why a record cannot be used (or None); ``on_sample(id, status)`` reports
    ``"cached"``, ``"skipped"`` (already there) or ``"rejected: why"``. ``extra_settings`` join the index's
    settings; where an index already records one of them with another value, nothing is cached (mixing
    samples encoded two ways in one cache would go unnoticed).
    """
    index, count = shard
    if not 0 <= index < count:
        raise VidstyleInputError(f"shard must be i/n with 0 <= i < n, got {index}/{count}")
    extra_settings = extra_settings or {}
    _check_settings(out, kind, extra_settings)
    report = read_manifest(dataset, on_error=on_error)
    out.mkdir(parents=True, exist_ok=True)
    for position, record in enumerate(report.records):
        if position % count != index:
            continue
        if sample_path(out, record.id).is_file():
            _report(on_sample, record.id, "skipped")
            continue
        reason = requirement(record) if requirement else None
        try:
            if reason:
                raise VidstyleInputError(f"sample {record.id!r}: {reason}")
            sample = load_sample(dataset, record, height, width, max_frames)
        except VidstyleInputError as err:
            if on_error == "stop":
                raise
            _report(on_sample, record.id, f"rejected: {err}")
            continue
        write_cached_sample(out, record.id, encode(sample))
        _report(on_sample, record.id, "cached")
    cached = [r.id for r in report.records if sample_path(out, r.id).is_file()]
    write_index(out, cached, {"kind": kind, "dataset": str(dataset), "height": height, "width": width,
                              "max_frames": max_frames, **extra_settings})
    return cached


def _check_settings(out: Path, kind: str, settings: dict[str, Any]) -> None:
    """Refuse to add to a cache of ``kind`` at ``out`` whose index records other ``settings`` values."""
    if not settings or not (Path(out) / "index.json").is_file():
        return
    try:
        _, found = read_index(out)
    except VidstyleInputError:
        return
    if found.get("kind", "dreamstyle") != kind:
        return
    for key, value in settings.items():
        recorded = found.get(key, LEGACY_SETTINGS.get(key, value))
        if recorded != value:
            raise VidstyleInputError(f"{out} is a cache with {key} {recorded!r}, not {value!r}: "
                                     "write to another directory")


def build_dreamstyle_cache(pipe: DreamStylePipeline, dataset: Path, out: Path, height: int, width: int,
                           max_frames: int | None = None, on_error: str = "skip", shard: tuple[int, int] = (0, 1),
                           on_sample: Callable[[str, str], None] | None = None) -> list[str]:
    """The DreamStyle cache: raw and stylized videos, first frame, references, both captions."""
    def requirement(record) -> str | None:
        if record.stylized is None or not record.style_refs:
            return "DreamStyle needs a stylized video and at least one style reference"
        return None

    return build_cache("dreamstyle", lambda sample: encode_sample(pipe, sample, height, width), dataset, out,
                       height, width, max_frames, on_error, shard, on_sample, requirement)


def build_motion_cache(pipe, dataset: Path, out: Path, height: int, width: int, frames: int,
                       on_error: str = "skip", shard: tuple[int, int] = (0, 1),
                       on_sample: Callable[[str, str], None] | None = None) -> list[str]:
    """The motion cache: a still video (each raw first frame repeated ``frames`` times) and its caption."""
    from vidstyle.training.motion_trainer import encode_still

    return build_cache("motion", lambda sample: encode_still(pipe, sample, height, width, frames), dataset, out,
                       height, width, 1, on_error, shard, on_sample)


def build_controlnet_cache(pipe, dataset: Path, out: Path, height: int, width: int, max_frames: int | None = None,
                           on_error: str = "skip", shard: tuple[int, int] = (0, 1),
                           on_sample: Callable[[str, str], None] | None = None, tile: str = "gray") -> list[str]:
    """The ControlNet cache: each raw video, its ``tile`` (gray or rgb) tile, and its caption; the index
    records ``tile``."""
    from vidstyle.adapters.gray_tile import TILE_KINDS
    from vidstyle.training.controlnet_trainer import encode_control

    if tile not in TILE_KINDS:
        raise VidstyleInputError(f"--tile must be one of {', '.join(TILE_KINDS)}, got {tile!r}")
    return build_cache("controlnet", lambda sample: encode_control(pipe, sample, height, width, tile), dataset, out,
                       height, width, max_frames, on_error, shard, on_sample, extra_settings={"tile": tile})


def build_style_cache(pipe, clip_id: str, dataset: Path, out: Path, height: int, width: int,
                      max_frames: int | None = None, on_error: str = "skip", shard: tuple[int, int] = (0, 1),
                      on_sample: Callable[[str, str], None] | None = None) -> list[str]:
    """The StyleMaster style cache: stylized latents, caption, and a reference prepared for ``clip_id``."""
    from vidstyle.style.clip import load_clip_preprocessors
    from vidstyle.training.style_trainer import encode_style_sample, write_null_text

    tokenizer, processor = load_clip_preprocessors(clip_id)
    write_null_text(pipe, out)

    def requirement(record) -> str | None:
        if record.stylized is None or not record.style_refs:
            return "the style trainer needs a stylized video or image and a style reference"
        return None

    encode = lambda sample: encode_style_sample(pipe, tokenizer, processor, sample, height, width)  # noqa: E731
    return build_cache("style", encode, dataset, out, height, width, max_frames, on_error, shard, on_sample,
                       requirement)


def _report(callback, sample_id: str, status: str) -> None:
    if callback is not None:
        callback(sample_id, status)
