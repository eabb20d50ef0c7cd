"""The styles file of `vidstyle data curate`: JSON Lines, one style per line.

``{"id": "ukiyoe", "description": "ukiyo-e woodblock print, flat colours", "refs": ["refs/ukiyoe_1.png"]}``.
``refs`` are image paths relative to the styles file (absolute paths work too) and may be left out or empty when
the toy stylizer makes references itself. Every problem is a one-line :class:`VidstyleInputError` naming the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from vidstyle.data.manifest import IMAGE_EXTENSIONS
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import load_image

STYLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class StyleSpec:
    """One style: ``id`` (letters, digits, ``_``, ``-``), the ``description`` appended to ``t_ns`` to make
    ``t_sty``, and the reference images ``refs`` (resolved paths; empty when references are generated)."""

    id: str
    description: str
    refs: tuple[Path, ...] = ()

    def fingerprint(self) -> dict:
        """What the settings file records: id, description and each reference's sha256 (not its path)."""
        digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in self.refs]
        return {"id": self.id, "description": self.description, "refs": digests}


class _StyleRow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    description: str
    refs: list[str] = []


def _schema_message(err: ValidationError) -> str:
    parts = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        msg = {"missing": "missing required field", "extra_forbidden": "unknown field"}.get(item["type"], item["msg"])
        parts.append(f"{loc}: {msg}" if loc else msg)
    return " ".join("; ".join(parts).split())


def _check_ref(base: Path, ref: str) -> Path:
    """The resolved path of reference ``ref``; ValueError with a short reason if it is not a readable image."""
    path = (base / ref).expanduser()
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(f"reference {ref!r} is not an image ({' '.join(sorted(IMAGE_EXTENSIONS))})")
    if not path.is_file():
        raise ValueError(f"reference not found: {ref!r}")
    try:
        load_image(path)
    except VidstyleInputError as err:
        raise ValueError(f"reference {ref!r}: {err}") from None
    return path.resolve()


def _parse_line(text: str, base: Path) -> StyleSpec:
    """One non-blank line -> StyleSpec; ValueError with the reason otherwise."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    try:
        parsed = _StyleRow.model_validate(row)
    except ValidationError as err:
        raise ValueError(_schema_message(err)) from None
    if not STYLE_ID.match(parsed.id):
        raise ValueError(f"id {parsed.id!r} must be letters, digits, '_' or '-' (starting with a letter or digit)")
    if not parsed.description.strip():
        raise ValueError("description must not be empty")
    refs = tuple(_check_ref(base, ref) for ref in parsed.refs)
    return StyleSpec(id=parsed.id, description=" ".join(parsed.description.split()), refs=refs)


def read_styles(path: str | Path) -> list[StyleSpec]:
    """All styles of the JSONL file ``path`` in file order (blank lines skipped); the first bad line raises
    ``VidstyleInputError("<path>: line <n>: <reason>")``; an empty file or a repeated id raises too."""
    path = Path(path)
    if not path.is_file():
        raise VidstyleInputError(f"styles file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise VidstyleInputError(f"cannot read styles file {path}: {err}") from None
    styles: list[StyleSpec] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            style = _parse_line(line, path.parent)
        except ValueError as err:
            raise VidstyleInputError(f"{path}: line {number}: {err}") from None
        if style.id in first_line:
            raise VidstyleInputError(f"{path}: line {number}: duplicate style id {style.id!r} "
                                     f"(first on line {first_line[style.id]})")
        first_line[style.id] = number
        styles.append(style)
    if not styles:
        raise VidstyleInputError(f"styles file {path} has no styles (one JSON object per line)")
    return styles
