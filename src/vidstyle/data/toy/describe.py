"""Content captions (``t_ns``): what is in a scene and how it moves, without any style words."""

from __future__ import annotations

import math

from vidstyle.data.toy.scene import Background, Scene, Thing

# Headings in 45 degree steps from +x, with y pointing down the screen.
DIRECTIONS = ("right", "down and to the right", "down", "down and to the left", "left", "up and to the left", "up",
              "up and to the right")


def article(word: str) -> str:
    """``"an orange"``, ``"a red"``."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _heading(thing: Thing) -> str:
    step = round(math.degrees(math.atan2(thing.dy, thing.dx)) / 45.0) % 8
    return DIRECTIONS[step]


def describe_motion(thing: Thing) -> str:
    """E.g. ``"moves left while spinning clockwise"``, ``"grows"``, ``"stays still"``."""
    spin = "clockwise" if thing.spin > 0 else "counter-clockwise"
    finite = {"translate": f"moves {_heading(thing)}", "rotate": f"spins {spin}",
              "scale": "grows" if thing.scale1 > 1 else "shrinks"}
    gerund = {"translate": f"moving {_heading(thing)}", "rotate": f"spinning {spin}",
              "scale": "growing" if thing.scale1 > 1 else "shrinking"}
    motions = thing.motions
    if not motions:
        return "stays still"
    return " while ".join([finite[motions[0]]] + [gerund[m] for m in motions[1:]])


def describe_background(background: Background) -> str:
    """E.g. ``"a blue and white striped background"``."""
    a, b = background.colour_a, background.colour_b
    return {
        "stripes": f"{article(a)} and {b} striped background",
        "checker": f"{article(a)} and {b} checkered background",
        "rings": f"a background of {a} and {b} concentric rings",
        "blobs": f"{article(a)} background with {b} blobs",
        "gradient": f"{article(a)} to {b} gradient background",
    }[background.kind]


def describe(scene: Scene) -> str:
    """The content caption, e.g. ``"a red circle moves left over a blue and white striped background"``."""
    movers = scene.things[:-1] if scene.occluder else scene.things
    parts = [f"{article(t.colour)} {t.shape} {describe_motion(t)}" for t in movers]
    text = " and ".join(parts) + " over " + describe_background(scene.background)
    if scene.occluder:
        front, behind = scene.things[-1], scene.things[0]
        target = "it" if len(movers) == 1 else f"the {behind.colour} {behind.shape}"
        text += f", while {article(front.colour)} {front.shape} passes in front of {target}"
    return text
