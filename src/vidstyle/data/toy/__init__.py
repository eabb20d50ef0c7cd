"""The toy style world: procedural scenes, parametric style operators and a dataset builder.

Scenes are small frozen dataclasses drawn from a ``numpy.random.Generator`` (:func:`random_scene`) and rendered by a
pure function (:func:`render_scene`, ``uint8 [F, S, S, 3]`` RGB). Style operators (:data:`STYLES`) map frames to
frames with per-video patterns fixed by a seed (:func:`apply_style`). :func:`build_toy_world` writes a train and a
held-out eval dataset folder (``docs/toy_world.md``).
"""

from __future__ import annotations

from vidstyle.data.toy.build import build_toy_world, write_world
from vidstyle.data.toy.describe import describe
from vidstyle.data.toy.render import render_scene
from vidstyle.data.toy.samples import ToySample, make_toy_sample
from vidstyle.data.toy.sampling import content_overlaps, random_other_scene, random_scene
from vidstyle.data.toy.scene import Background, Scene, Thing
from vidstyle.data.toy.styles import DEFAULT_HELDOUT, STYLES, StyleOperator, apply_style, get_style
from vidstyle.data.toy.world import HELDOUT_SEED_START, SamplePlan, ToyWorldConfig

__all__ = [
    "DEFAULT_HELDOUT", "HELDOUT_SEED_START", "STYLES", "Background", "SamplePlan", "Scene", "StyleOperator", "Thing",
    "ToySample", "ToyWorldConfig", "apply_style", "build_toy_world", "content_overlaps", "describe", "get_style",
    "make_toy_sample", "random_other_scene", "random_scene", "render_scene", "write_world",
]
