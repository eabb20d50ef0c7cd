"""Which samples a curation makes: raw videos, a seeded balanced style assignment, sample ids, seeds, shards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vidstyle.data.curation.styles import StyleSpec
from vidstyle.data.manifest import VIDEO_EXTENSIONS
from vidstyle.data.seeds import derived_seed
from vidstyle.errors import VidstyleInputError

_BAD_STEM = re.compile(r"[\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RawVideo:
    """A raw input video: its file and its stem (the first part of its samples' ids)."""

    path: Path
    stem: str


@dataclass(frozen=True)
class PlannedSample:
    """Sample ``index`` of the plan: ``video`` in ``style``, id ``<stem>_<style id>``, its own ``seed``."""

    index: int
    id: str
    video: RawVideo
    style: StyleSpec
    seed: int


def list_raw_videos(folder: str | Path) -> list[RawVideo]:
    """The videos directly in ``folder`` (manifest video extensions, any case; hidden files skipped), by stem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VidstyleInputError(f"raw video folder not found: {folder}")
    videos: dict[str, RawVideo] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in VIDEO_EXTENSIONS or not path.is_file():
            continue
        if _BAD_STEM.search(path.stem):
            raise VidstyleInputError(f"raw video name {path.name!r} has a backslash or a control character; rename it")
        if path.stem in videos:
            raise VidstyleInputError(f"raw videos {videos[path.stem].path.name!r} and {path.name!r} have the same "
                                     "stem (sample ids come from stems); rename one")
        videos[path.stem] = RawVideo(path=path, stem=path.stem)
    if not videos:
        raise VidstyleInputError(f"no raw videos in {folder} (extensions: {' '.join(sorted(VIDEO_EXTENSIONS))})")
    return [videos[stem] for stem in sorted(videos)]


def assign_styles(stems: list[str], style_ids: list[str], per_video: int, seed: int) -> dict[str, list[str]]:
    """``per_video`` different styles for every stem, balanced: every style is used ``len(stems) * per_video /
    len(style_ids)`` times, give or take one.

    Videos are visited in a seeded order and each takes the ``per_video`` least used styles so far (ties broken by a
    seeded hash of (video, style)); the result lists each video's styles in ``style_ids`` order. A pure function of
    its arguments, so every shard of a run computes the same plan.
    """
    if not 1 <= per_video <= len(style_ids):
        raise VidstyleInputError(f"--styles-per-video must be between 1 and the number of styles ({len(style_ids)}), "
                                 f"got {per_video}")
    counts = dict.fromkeys(style_ids, 0)
    chosen: dict[str, list[str]] = {}
    for stem in sorted(stems, key=lambda s: derived_seed(seed, "order", s)):
        ranked = sorted(style_ids, key=lambda s: (counts[s], derived_seed(seed, "tie", stem, s)))
        picked = set(ranked[:per_video])
        for style in picked:
            counts[style] += 1
        chosen[stem] = [s for s in style_ids if s in picked]
    return {stem: chosen[stem] for stem in stems}


def plan_samples(videos: list[RawVideo], styles: list[StyleSpec], per_video: int, seed: int) -> list[PlannedSample]:
    """Every sample, ordered by video (sorted stems) then by style (styles file order)."""
    by_id = {style.id: style for style in styles}
    assignment = assign_styles([v.stem for v in videos], [s.id for s in styles], per_video, seed)
    samples: list[PlannedSample] = []
    seen: dict[str, str] = {}
    for video in videos:
        for style_id in assignment[video.stem]:
            sample_id = f"{video.stem}_{style_id}"
            if sample_id in seen:
                raise VidstyleInputError(f"sample id {sample_id!r} would be made twice ({seen[sample_id]} and "
                                         f"{video.path.name} with style {style_id!r}); rename a video or a style")
            seen[sample_id] = f"{video.path.name} with style {style_id!r}"
            samples.append(PlannedSample(index=len(samples), id=sample_id, video=video, style=by_id[style_id],
                                         seed=derived_seed(seed, "sample", sample_id)))
    return samples


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; anything else is a user error."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None or not int(match[1]) < int(match[2]):
        raise VidstyleInputError(f"--shard must be i/n with 0 <= i < n (e.g. 0/4), got {text!r}")
    return int(match[1]), int(match[2])


def shard_samples(samples: list[PlannedSample], shard: tuple[int, int]) -> list[PlannedSample]:
    """The samples of shard ``(i, n)``: those whose plan index ``k`` has ``k % n == i``."""
    index, count = shard
    return [s for s in samples if s.index % count == index]
