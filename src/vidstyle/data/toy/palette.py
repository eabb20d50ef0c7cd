"""The named colours, shapes, backgrounds and motions of the toy world."""

from __future__ import annotations

# RGB, chosen to stay apart from each other so that a colour word names one visible colour.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (245, 215, 40),
    "green": (50, 170, 70),
    "teal": (30, 160, 160),
    "blue": (40, 80, 210),
    "purple": (130, 60, 180),
    "pink": (240, 120, 180),
    "brown": (130, 80, 40),
    "white": (245, 245, 240),
    "black": (25, 25, 30),
    "grey": (128, 128, 128),
}
SHAPES = ("circle", "ring", "square", "triangle", "star", "hexagon", "diamond", "cross")
ROUND_SHAPES = frozenset({"circle", "ring"})  # a rotation does not show on these
BACKGROUNDS = ("stripes", "checker", "rings", "blobs", "gradient")
MOTIONS = ("translate", "rotate", "scale", "translate+rotate", "translate+scale", "rotate+scale")
ROUND_MOTIONS = ("translate", "scale", "translate+scale")
