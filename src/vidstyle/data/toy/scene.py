"""The scene model: a small frozen description from which :func:`render_scene` draws every frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Background:
    """A static background mixing two named colours.

    ``kind`` is one of ``palette.BACKGROUNDS``; ``angle`` (degrees) orients stripes, checkers and gradients;
    ``period`` is the pattern period as a fraction of the frame size; ``centre`` (fractions, x then y) is the
    middle of the rings; ``noise_seed`` fixes the blob field.
    """

    kind: str
    colour_a: str
    colour_b: str
    angle: float
    period: float
    centre: tuple[float, float]
    noise_seed: int


@dataclass(frozen=True)
class Thing:
    """A moving shape. Lengths and positions are fractions of the frame size (x to the right, y down).

    At clip progress ``p`` in [0, 1] its centre is ``(x0 + dx p, y0 + dy p)``, its circumradius
    ``radius (1 + (scale1 - 1) p)`` and its angle ``angle0 + spin p`` degrees (positive turns clockwise on screen).
    """

    shape: str
    colour: str
    radius: float
    x0: float
    y0: float
    dx: float = 0.0
    dy: float = 0.0
    angle0: float = 0.0
    spin: float = 0.0
    scale1: float = 1.0

    def at(self, progress: float) -> tuple[float, float, float, float]:
        """``(x, y, radius, angle)`` at clip progress ``progress`` in [0, 1]."""
        return (self.x0 + self.dx * progress, self.y0 + self.dy * progress,
                self.radius * (1.0 + (self.scale1 - 1.0) * progress), self.angle0 + self.spin * progress)

    @property
    def motions(self) -> tuple[str, ...]:
        """The motions this thing makes, among ``translate``, ``rotate`` and ``scale``."""
        found = (("translate", self.dx != 0 or self.dy != 0), ("rotate", self.spin != 0), ("scale", self.scale1 != 1))
        return tuple(name for name, present in found if present)


@dataclass(frozen=True)
class Scene:
    """A background and things drawn back to front; with ``occluder`` the last thing passes in front of the first."""

    background: Background
    things: tuple[Thing, ...]
    occluder: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        """The inverse of :meth:`to_dict`."""
        bg = dict(data["background"])
        bg["centre"] = tuple(bg["centre"])
        return cls(background=Background(**bg), things=tuple(Thing(**t) for t in data["things"]),
                   occluder=bool(data.get("occluder", False)))
