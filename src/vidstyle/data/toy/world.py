"""The toy world's configuration and plan: which scene seed and style each sample of each split gets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vidstyle.data.toy.styles import DEFAULT_HELDOUT, STYLES
from vidstyle.errors import VidstyleInputError

HELDOUT_SEED_START = 1_000_000_000  # eval scene seeds start here; training seeds stay below
FORMAT = "vidstyle-toy-world"
VERSION = 1


@dataclass(frozen=True)
class SamplePlan:
    """One sample to make: its split, id, scene seed and style."""

    split: str
    id: str
    scene_seed: int
    style: str


def _check_names(names: tuple[str, ...], known: list[str] | tuple[str, ...], what: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise VidstyleInputError(f"unknown {what} {', '.join(map(repr, unknown))} (known: {', '.join(known)})")
    if len(set(names)) != len(names):
        raise VidstyleInputError(f"{what}s are repeated: {', '.join(names)}")


@dataclass(frozen=True)
class ToyWorldConfig:
    """A toy world: ``samples`` training and ``eval_samples`` evaluation samples of ``size`` px and ``frames``.

    Train samples use scene seeds ``[0, samples)`` and the styles not held out, in turn; eval samples use scene
    seeds ``[HELDOUT_SEED_START, HELDOUT_SEED_START + eval_samples)`` and the held-out styles first, then the
    others, in turn. Build it with :meth:`create`, which checks every value.
    """

    samples: int
    size: int
    frames: int
    seed: int
    refs: int
    fps: float
    eval_samples: int
    styles: tuple[str, ...]
    heldout_styles: tuple[str, ...]

    @classmethod
    def create(cls, samples: int, size: int = 64, frames: int = 9, seed: int = 0, refs: int = 2, fps: float = 8.0,
               eval_samples: int | None = None, styles: tuple[str, ...] | list[str] | None = None,
               heldout_styles: tuple[str, ...] | list[str] | None = None) -> ToyWorldConfig:
        """Check the values (VidstyleInputError) and fill the defaults.

        ``styles`` defaults to every operator; ``heldout_styles`` to ``DEFAULT_HELDOUT`` (those of them in
        ``styles``); ``eval_samples`` to ``max(len(heldout_styles), ceil(samples / 4))``.
        """
        styles = tuple(STYLES) if styles is None else tuple(styles)
        _check_names(styles, list(STYLES), "toy style")
        if not styles:
            raise VidstyleInputError("no toy styles chosen")
        held = tuple(s for s in DEFAULT_HELDOUT if s in styles) if heldout_styles is None else tuple(heldout_styles)
        _check_names(held, styles, "held-out style")
        if len(held) == len(styles):
            raise VidstyleInputError(f"every style is held out ({', '.join(held)}): none is left to train on")
        eval_samples = max(len(held), math.ceil(samples / 4)) if eval_samples is None else eval_samples
        checks = [(samples >= 1, f"samples must be >= 1, got {samples}"),
                  (samples < HELDOUT_SEED_START, f"samples must be < {HELDOUT_SEED_START}, got {samples}"),
                  (0 <= eval_samples < HELDOUT_SEED_START, f"eval samples must be >= 0, got {eval_samples}"),
                  (16 <= size <= 1024, f"size must be in [16, 1024], got {size}"),
                  (1 <= frames <= 1001, f"frames must be in [1, 1001], got {frames}"),
                  (seed >= 0, f"seed must be >= 0, got {seed}"),
                  (0 <= refs <= 16, f"refs must be in [0, 16], got {refs}"),
                  (math.isfinite(fps) and fps > 0, f"fps must be positive, got {fps}")]
        for ok, message in checks:
            if not ok:
                raise VidstyleInputError(message)
        return cls(samples=samples, size=size, frames=frames, seed=seed, refs=refs, fps=float(fps),
                   eval_samples=eval_samples, styles=styles, heldout_styles=held)

    @property
    def train_styles(self) -> tuple[str, ...]:
        """The styles of the training split: every style that is not held out."""
        return tuple(s for s in self.styles if s not in self.heldout_styles)

    @property
    def seed_ranges(self) -> dict[str, tuple[int, int]]:
        """``split -> [start, stop)`` of its scene seeds."""
        return {"train": (0, self.samples),
                "eval": (HELDOUT_SEED_START, HELDOUT_SEED_START + self.eval_samples)}

    @property
    def splits(self) -> tuple[str, ...]:
        """``("train", "eval")``, or ``("train",)`` without eval samples."""
        return ("train", "eval") if self.eval_samples else ("train",)

    def plan(self, split: str) -> list[SamplePlan]:
        """The samples of ``split`` in order."""
        order = self.train_styles if split == "train" else self.heldout_styles + self.train_styles
        start, stop = self.seed_ranges[split]
        plans = []
        for i, scene_seed in enumerate(range(start, stop)):
            style = order[i % len(order)]
            plans.append(SamplePlan(split=split, id=f"{split}_{i:06d}_{style}", scene_seed=scene_seed, style=style))
        return plans

    def info(self) -> dict[str, Any]:
        """The ``toy_world.json`` content: everything needed to regenerate the world and to know its splits."""
        return {
            "format": FORMAT, "version": VERSION, "seed": self.seed, "size": self.size, "frames": self.frames,
            "fps": self.fps, "refs": self.refs, "samples": {"train": self.samples, "eval": self.eval_samples},
            "styles": [{"name": s, "description": STYLES[s].description, "params": STYLES[s].params}
                       for s in self.styles],
            "train_styles": list(self.train_styles), "heldout_styles": list(self.heldout_styles),
            "train_seed_range": list(self.seed_ranges["train"]), "heldout_seed_range": list(self.seed_ranges["eval"]),
            "splits": list(self.splits),
        }
