"""The training dataset manifest: ``manifest.jsonl`` rows, their schema, reading with per-line errors, writing.

A dataset is a folder holding ``manifest.jsonl`` (one JSON object per line, blank lines ignored) and the media
files its rows name by paths relative to that folder. See ``docs/dataset.md`` for the format.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from vidstyle.errors import VidstyleInputError

MANIFEST_NAME = "manifest.jsonl"
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".gif"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp"})
MediaKind = Literal["video", "image"]


def _exts(kinds: frozenset[str]) -> str:
    """``'.a .b .c'``: an extension set for messages, sorted."""
    return " ".join(sorted(kinds))


def media_kind(path: str) -> MediaKind:
    """``"video"`` or ``"image"`` from the extension of ``path`` (case-insensitive); ValueError otherwise."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    raise ValueError(
        f"unsupported extension {suffix or '(none)'!r} in {path!r} "
        f"(videos: {_exts(VIDEO_EXTENSIONS)}; images: {_exts(IMAGE_EXTENSIONS)})"
    )


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a non-empty '/'-separated path that stays inside the dataset folder."""
    if not path.strip():
        raise ValueError("empty path")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"paths must use '/' separators and no NUL characters: {path!r}")
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise ValueError(f"absolute paths are not allowed (paths are relative to the dataset folder): {path!r}")
    depth = 0
    for part in path.split("/"):
        depth += -1 if part == ".." else int(part not in ("", "."))
        if depth < 0:
            raise ValueError(f"path escapes the dataset folder: {path!r}")
    return path


def _non_blank(value: str) -> str:
    """``value`` unless it is empty or only whitespace."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _media_path(value: str) -> str:
    """A relative path to a video or an image."""
    media_kind(check_relative_path(value))
    return value


def _image_path(value: str) -> str:
    """A relative path to an image."""
    if media_kind(check_relative_path(value)) != "image":
        raise ValueError(f"style references must be images ({_exts(IMAGE_EXTENSIONS)}): {value!r}")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]
MediaPath = Annotated[str, AfterValidator(_media_path)]
ImagePath = Annotated[str, AfterValidator(_image_path)]


class SampleRecord(BaseModel):
    """One manifest row: a raw clip or image, its optional stylized version, style references and captions.

    Paths are relative to the dataset folder. ``raw`` and ``stylized`` are both videos or both images (an image
    is a 1-frame sample); ``style_refs`` are images and may be empty only when ``t_sty`` is given.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: NonBlank
    raw: MediaPath
    stylized: MediaPath | None = None
    style_refs: list[ImagePath]
    t_ns: str
    t_sty: str | None = None
    style_id: NonBlank
    scores: dict[str, float] | None = None

    @field_validator("scores")
    @classmethod
    def _check_scores(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for name, score in (value or {}).items():
            if not math.isfinite(score):
                raise ValueError(f"score {name!r} must be finite, got {score}")
        return value

    @model_validator(mode="after")
    def _check_pairing(self) -> SampleRecord:
        if self.stylized is not None and media_kind(self.raw) != media_kind(self.stylized):
            raise ValueError(
                f"stylized: raw is {'an image' if self.is_image else 'a video'} but stylized is "
                f"{'an image' if media_kind(self.stylized) == 'image' else 'a video'}: both must be images or videos"
            )
        if not self.style_refs and not (self.t_sty and self.t_sty.strip()):
            raise ValueError("style_refs: must not be empty unless t_sty is given")
        return self

    @property
    def is_image(self) -> bool:
        """Whether ``raw`` (and ``stylized``) are images, i.e. a 1-frame sample."""
        return media_kind(self.raw) == "image"

    def media_paths(self) -> list[tuple[str, str]]:
        """``(field, relative path)`` for every media file of the row, e.g. ``("style_refs.1", "s/b.png")``."""
        paths = [("raw", self.raw)] + ([("stylized", self.stylized)] if self.stylized is not None else [])
        return paths + [(f"style_refs.{i}", ref) for i, ref in enumerate(self.style_refs)]


@dataclass
class RowError:
    """A problem with one manifest row; ``line`` is 1-based and counts blank lines."""

    line: int
    message: str


@dataclass
class ManifestReport:
    """What :func:`read_manifest` found: the valid ``records`` in file order and one error per bad row."""

    manifest: Path
    records: list[SampleRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


def _schema_message(err: ValidationError) -> str:
    """A pydantic error as one line that names each offending field."""
    parts = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        if item["type"] == "missing":
            msg = "missing required field"
        elif item["type"] == "extra_forbidden":
            msg = "unknown field"
        else:
            msg = item["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return " ".join("; ".join(parts).split())


def _file_problems(folder: Path, record: SampleRecord) -> list[str]:
    """Messages for every media path of ``record`` that is not an existing, non-empty file inside ``folder``."""
    problems = []
    for name, rel in record.media_paths():
        path = folder / rel
        if not path.exists():
            problems.append(f"{name}: file not found: {rel!r}")
        elif not path.is_file():
            problems.append(f"{name}: not a file: {rel!r}")
        elif path.stat().st_size == 0:
            problems.append(f"{name}: file is empty: {rel!r}")
    return problems


def _parse_line(raw: bytes, first: bool) -> dict | str:
    """The JSON object on one line, or an error message."""
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        return f"invalid JSON: {err.msg} at column {err.colno}"
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    return row


def manifest_path(folder: str | Path) -> Path:
    """``folder/manifest.jsonl``; VidstyleInputError if the folder or the manifest does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VidstyleInputError(f"dataset folder not found: {folder}")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise VidstyleInputError(f"dataset manifest not found: {path}")
    return path


def read_manifest(
    folder: str | Path, on_error: Literal["skip", "stop"] = "skip", check_files: bool = True
) -> ManifestReport:
    """Read and check ``folder/manifest.jsonl``.

    Every bad row gives one :class:`RowError` with its 1-based line number: invalid JSON, schema violations,
    a duplicate ``id`` and (with ``check_files``) missing or non-file media. ``on_error="skip"`` leaves such rows
    out and counts them; ``"stop"`` raises VidstyleInputError ``"<manifest>: line <n>: <message>"`` at the first.
    """
    if on_error not in ("skip", "stop"):
        raise VidstyleInputError(f"on_error must be 'skip' or 'stop', got {on_error!r}")
    path = manifest_path(folder)
    report = ManifestReport(manifest=path)
    first_line: dict[str, int] = {}
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not line.strip():
            continue
        row = _parse_line(line, first=number == 1)
        problems: list[str] = []
        if isinstance(row, str):
            problems.append(row)
        else:
            try:
                record = SampleRecord.model_validate(row)
            except ValidationError as err:
                problems.append(_schema_message(err))
            else:
                if record.id in first_line:
                    problems.append(f"duplicate id {record.id!r} (first on line {first_line[record.id]})")
                else:
                    first_line[record.id] = number
                if check_files:
                    problems += _file_problems(path.parent, record)
        if not problems:
            report.records.append(record)
            continue
        message = "; ".join(problems)
        if on_error == "stop":
            raise VidstyleInputError(f"{path}: line {number}: {message}")
        report.errors.append(RowError(line=number, message=message))
        report.skipped += 1
    return report


def write_manifest(folder: str | Path, records: Iterable[SampleRecord]) -> Path:
    """Write ``records`` to ``folder/manifest.jsonl`` atomically (temp file + ``os.replace``); returns its path.

    Unset optional fields are left out of each line. Duplicate ids raise VidstyleInputError.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    lines = []
    for record in records:
        if record.id in seen:
            raise VidstyleInputError(f"duplicate sample id {record.id!r} in the records to write")
        seen.add(record.id)
        lines.append(record.model_dump_json(exclude_none=True) + "\n")
    path = folder / MANIFEST_NAME
    tmp = folder / f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
