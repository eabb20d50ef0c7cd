"""One toy sample in memory: raw clip, its stylized version and style references on other content."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidstyle.data.toy.describe import describe
from vidstyle.data.toy.render import render_scene
from vidstyle.data.toy.sampling import random_other_scene, random_scene
from vidstyle.data.toy.scene import Scene
from vidstyle.data.toy.styles import get_style


@dataclass(frozen=True, eq=False)
class ToySample:
    """A generated sample. ``raw`` and ``stylized`` are ``uint8 [F, S, S, 3]`` RGB; ``refs`` is ``uint8 [K, S, S, 3]``.

    ``refs[k]`` is the first frame of ``ref_scenes[k]`` in the same style: other content (no background and no
    (shape, colour) pair shared with ``scene``; references differ from each other), other per-video style patterns.
    """

    scene_seed: int
    style: str
    scene: Scene
    ref_scenes: tuple[Scene, ...]
    raw: np.ndarray
    stylized: np.ndarray
    refs: np.ndarray
    t_ns: str
    t_sty: str


def sample_rng(world_seed: int, scene_seed: int) -> np.random.Generator:
    """The generator of one sample: a pure function of the world seed and the scene seed."""
    return np.random.default_rng([world_seed, scene_seed])


def make_toy_sample(world_seed: int, scene_seed: int, style: str, size: int, frames: int, refs: int = 2) -> ToySample:
    """Draw, render and stylize sample ``scene_seed`` of world ``world_seed`` (deterministic)."""
    operator = get_style(style)
    rng = sample_rng(world_seed, scene_seed)
    scene = random_scene(rng)
    raw = render_scene(scene, size, frames)
    stylized = operator(raw, seed=int(rng.integers(2**31)))
    ref_scenes: list[Scene] = []
    ref_frames = []
    for _ in range(refs):
        ref_scene = random_other_scene(rng, [scene])
        while ref_scene in ref_scenes:
            ref_scene = random_other_scene(rng, [scene])
        ref_scenes.append(ref_scene)
        ref_frames.append(operator(render_scene(ref_scenes[-1], size, 1), seed=int(rng.integers(2**31)))[0])
    t_ns = describe(scene)
    return ToySample(
        scene_seed=scene_seed, style=style, scene=scene, ref_scenes=tuple(ref_scenes), raw=raw, stylized=stylized,
        refs=np.stack(ref_frames) if ref_frames else np.zeros((0, size, size, 3), dtype=np.uint8),
        t_ns=t_ns, t_sty=f"{t_ns}, {operator.description}",
    )
