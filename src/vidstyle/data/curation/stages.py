"""The protocols of the pluggable curation stages and the per-sample input they share.

A stage is any object with an ``identity`` (recorded in ``curation.json``) and the stage's method; the toy and
model-backed implementations live in ``captioners``, ``stylizers`` and ``propagators``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class StageInput:
    """What the stylizer and the propagator know about a sample: its style, captions, references and seed."""

    sample_id: str
    style_id: str
    t_ns: str
    t_sty: str
    refs: tuple[Image.Image, ...]
    seed: int


class Captioner(Protocol):
    """Content caption ``t_ns`` of a raw video."""

    identity: str

    def caption(self, frame: np.ndarray, stem: str) -> str:
        """``frame``: the raw video's first frame, ``uint8 [H, W, 3]``; ``stem``: its file stem -> ``t_ns``."""
        ...


class Stylizer(Protocol):
    """First-frame stylization."""

    identity: str

    def stylize(self, frame: np.ndarray, job: StageInput) -> np.ndarray:
        """``uint8 [H, W, 3]`` raw first frame -> ``uint8 [H, W, 3]`` stylized first frame (same size)."""
        ...


class Propagator(Protocol):
    """Turns a stylized first frame into a stylized video that follows the raw video."""

    identity: str

    def propagate(self, first: np.ndarray, raw: np.ndarray, job: StageInput) -> np.ndarray:
        """``first`` ``uint8 [H, W, 3]``, ``raw`` ``uint8 [F, H, W, 3]`` -> stylized ``uint8 [F, H, W, 3]``."""
        ...


@dataclass
class Stages:
    """The three model stages of a run."""

    captioner: Captioner
    stylizer: Stylizer
    propagator: Propagator


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in ``[0, 1]`` (any shape ending in 3) -> ``uint8`` of the same shape, rounded."""
    return np.clip(np.rint(np.asarray(images, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
