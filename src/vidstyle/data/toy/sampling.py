"""Drawing scenes at random: every choice comes from the ``numpy.random.Generator`` passed in."""

from __future__ import annotations

import math

import numpy as np

from vidstyle.data.toy.palette import BACKGROUNDS, COLOURS, MOTIONS, ROUND_MOTIONS, ROUND_SHAPES, SHAPES
from vidstyle.data.toy.scene import Background, Scene, Thing

MARGIN = 0.14  # centres stay this far from the frame edges (fraction of the size)


def _pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    return str(options[int(rng.integers(len(options)))])


def random_background(rng: np.random.Generator) -> Background:
    """A background of a random kind in two distinct random colours."""
    first, second = rng.choice(len(COLOURS), size=2, replace=False)
    names = list(COLOURS)
    return Background(
        kind=_pick(rng, BACKGROUNDS), colour_a=names[int(first)], colour_b=names[int(second)],
        angle=round(float(rng.uniform(0.0, 180.0)), 2), period=round(float(rng.uniform(0.2, 0.4)), 3),
        centre=(round(float(rng.uniform(0.2, 0.8)), 3), round(float(rng.uniform(0.2, 0.8)), 3)),
        noise_seed=int(rng.integers(2**31)),
    )


def _span(rng: np.random.Generator, delta: float) -> float:
    """A start coordinate such that start and start + delta both lie in [MARGIN, 1 - MARGIN]."""
    low, high = MARGIN - min(delta, 0.0), 1.0 - MARGIN - max(delta, 0.0)
    return round(float(rng.uniform(low, max(low, high))), 4)


def random_thing(rng: np.random.Generator, shape: str, colour: str) -> Thing:
    """A ``shape`` in ``colour`` making a random motion (translate, rotate, scale or two of them)."""
    motion = _pick(rng, ROUND_MOTIONS if shape in ROUND_SHAPES else MOTIONS)
    dx = dy = spin = 0.0
    scale1 = 1.0
    if "translate" in motion:
        heading = math.radians(45.0 * int(rng.integers(8)))
        distance = float(rng.uniform(0.2, 0.4))
        dx, dy = round(distance * math.cos(heading), 4), round(distance * math.sin(heading), 4)
    if "rotate" in motion:
        spin = round(float(rng.choice([-1.0, 1.0]) * rng.uniform(60.0, 180.0)), 2)
    if "scale" in motion:
        scale1 = round(float(rng.uniform(0.5, 0.7) if rng.random() < 0.5 else rng.uniform(1.4, 1.8)), 3)
    radius = round(float(rng.uniform(0.12, 0.2)), 4)
    return Thing(shape=shape, colour=colour, radius=radius, x0=_span(rng, dx), y0=_span(rng, dy), dx=dx, dy=dy,
                 angle0=round(float(rng.uniform(0.0, 360.0)), 2), spin=spin, scale1=scale1)


def random_occluder(rng: np.random.Generator, shape: str, colour: str, target: Thing) -> Thing:
    """A thing crossing the frame in a straight line that covers ``target``'s centre half-way through the clip."""
    x_mid, y_mid, _, _ = target.at(0.5)
    heading = math.radians(45.0 * int(rng.integers(8)))
    distance = float(rng.uniform(0.6, 0.8))
    dx, dy = distance * math.cos(heading), distance * math.sin(heading)
    spin = round(float(rng.uniform(-90.0, 90.0)), 2) if shape not in ROUND_SHAPES else 0.0
    return Thing(shape=shape, colour=colour, radius=round(float(rng.uniform(0.12, 0.17)), 4),
                 x0=round(x_mid - dx / 2, 4), y0=round(y_mid - dy / 2, 4), dx=round(dx, 4), dy=round(dy, 4),
                 angle0=round(float(rng.uniform(0.0, 360.0)), 2), spin=spin)


def random_scene(rng: np.random.Generator) -> Scene:
    """A random scene: a background, one or two moving things and, in 40% of scenes, an occluder in front.

    Things have distinct colours that differ from both background colours, and distinct (shape, colour) pairs.
    """
    background = random_background(rng)
    count = 1 + int(rng.random() < 0.35)
    occluder = bool(rng.random() < 0.4)
    free = [name for name in COLOURS if name not in (background.colour_a, background.colour_b)]
    colours = [free[int(i)] for i in rng.choice(len(free), size=count + occluder, replace=False)]
    shapes = [_pick(rng, SHAPES) for _ in colours]
    things = [random_thing(rng, shape, colour) for shape, colour in zip(shapes[:count], colours[:count], strict=True)]
    if occluder:
        things.append(random_occluder(rng, shapes[-1], colours[-1], things[0]))
    return Scene(background=background, things=tuple(things), occluder=occluder)


def content_overlaps(a: Scene, b: Scene) -> bool:
    """Whether two scenes share a background (kind and colours) or a thing of the same shape and colour."""
    same_background = (a.background.kind, a.background.colour_a, a.background.colour_b) == (
        b.background.kind, b.background.colour_a, b.background.colour_b)
    shared = {(t.shape, t.colour) for t in a.things} & {(t.shape, t.colour) for t in b.things}
    return same_background or bool(shared)


def random_other_scene(rng: np.random.Generator, avoid: list[Scene], tries: int = 1000) -> Scene:
    """A random scene whose content overlaps none of ``avoid`` (see :func:`content_overlaps`)."""
    for _ in range(tries):
        scene = random_scene(rng)
        if not any(content_overlaps(scene, other) for other in avoid):
            return scene
    raise RuntimeError(f"no scene disjoint from {len(avoid)} scenes in {tries} draws")
