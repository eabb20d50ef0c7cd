"""The anagram builder's text inputs: style and object lists, slugs, prompts and the seeded pair plan."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from vidstyle.data.seeds import derived_seed
from vidstyle.errors import VidstyleInputError

CONTENT_TEMPLATE = "a photo of {object}"


def slugify(text: str) -> str:
    """``"Ukiyo-e Woodblock Print"`` -> ``"ukiyo_e_woodblock_print"`` (lower-case ASCII letters, digits, ``_``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def read_lines(path: Path, what: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped, repeats and ``#`` comment lines left out.

    ``what`` (``"styles"``, ``"objects"``) names the list in errors: a missing or unreadable file, no entry, an
    entry without a letter or digit, or two different entries with the same slug.
    """
    path = Path(path)
    if not path.is_file():
        raise VidstyleInputError(f"{what} file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise VidstyleInputError(f"cannot read {what} file {path}: {err}") from None
    lines: list[str] = []
    slugs: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line or line.startswith("#") or line in lines:
            continue
        slug = slugify(line)
        if not slug:
            raise VidstyleInputError(f"{path}: line {number}: {line!r} has no letter or digit")
        if slug in slugs:
            raise VidstyleInputError(f"{path}: line {number}: {line!r} and {slugs[slug]!r} have the same name "
                                     f"{slug!r}; make them differ in letters or digits")
        slugs[slug] = line
        lines.append(line)
    if not lines:
        raise VidstyleInputError(f"{what} file {path} has no entries (one per line)")
    return lines


def style_prompt(style: str, obj: str) -> str:
    """``"a {style} of {object}"``, with ``an`` before a vowel: ``"an oil painting of a dog"``."""
    article = "an" if style[:1].lower() in "aeiou" else "a"
    return f"{article} {style} of {obj}"


def content_prompt(obj: str) -> str:
    """The prompt of an object's content image (the records' ``raw``): ``"a photo of {object}"``."""
    return CONTENT_TEMPLATE.format(object=obj)


@dataclass(frozen=True)
class PairPlan:
    """Pair ``index``: one style and ``V`` different objects (object ``i`` is shown by view ``i``)."""

    index: int
    style: str
    objects: tuple[str, ...]

    @property
    def prompts(self) -> list[str]:
        """One prompt per view: ``"a {style} of {object_i}"``."""
        return [style_prompt(self.style, obj) for obj in self.objects]


def plan_pair(styles: list[str], objects: list[str], views: int, index: int, seed: int) -> PairPlan:
    """The style and objects of pair ``index``, a pure function of its arguments (so resuming is exact).

    Styles are dealt round-robin in a seeded order that is reshuffled every round (every style gets
    ``pairs / len(styles)`` pairs, give or take one); the ``views`` objects are a seeded draw without repeats.
    """
    if len(objects) < views:
        raise VidstyleInputError(f"{views} views need at least {views} different objects, got {len(objects)}")
    order = list(styles)
    random.Random(derived_seed(seed, "styles", index // len(styles))).shuffle(order)
    draw = random.Random(derived_seed(seed, "objects", index))
    return PairPlan(index=index, style=order[index % len(styles)], objects=tuple(draw.sample(objects, views)))
