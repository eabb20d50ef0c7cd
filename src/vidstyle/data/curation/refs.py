"""Style references inside the output folder: copies of the styles file's images, or toy references drawn with
the style's toy operator on fresh toy scenes (for toy styles listed without references)."""

from __future__ import annotations

import numpy as np

from vidstyle.data.curation.layout import Layout
from vidstyle.data.curation.store import png_bytes, write_once
from vidstyle.data.curation.styles import StyleSpec
from vidstyle.data.seeds import derived_seed
from vidstyle.data.toy import apply_style, random_scene, render_scene

TOY_REFS = 2


def toy_references(style_id: str, size: int, seed: int, count: int = TOY_REFS) -> list[np.ndarray]:
    """``count`` images ``uint8 [size, size, 3]``: the operator on the first frame of fresh seeded toy scenes."""
    rng = np.random.default_rng(derived_seed(seed, "refs", style_id))
    images = []
    for _ in range(count):
        frame = render_scene(random_scene(rng), size, 1)
        images.append(apply_style(style_id, frame, seed=int(rng.integers(2**31)))[0])
    return images


def prepare_references(layout: Layout, style: StyleSpec, toy_size: int | None, seed: int) -> list[str]:
    """Write the style's references under ``styles/<id>/`` (first writer wins) and return their relative paths.

    Given references are copied byte for byte as ``ref<k><ext>``; a style without any gets :data:`TOY_REFS` toy
    references ``ref<k>.png`` of side ``toy_size``.
    """
    paths = []
    if style.refs:
        for index, source in enumerate(style.refs):
            rel = layout.ref_rel(style.id, index, source.suffix)
            write_once(layout.root / rel, source.read_bytes())
            paths.append(rel)
        return paths
    if toy_size is None:
        raise ValueError(f"style {style.id!r} has no references and no toy reference size was given")
    for index, image in enumerate(toy_references(style.id, toy_size, seed)):
        rel = layout.ref_rel(style.id, index, ".png")
        write_once(layout.root / rel, png_bytes(image))
        paths.append(rel)
    return paths
