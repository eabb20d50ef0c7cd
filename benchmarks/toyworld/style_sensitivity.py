"""How much DreamStyle's output depends on the style condition, per task, on the toy world.

    python -m benchmarks.toyworld.style_sensitivity --base DIR [--adapter DIR] [--scene N]

One held-out clip (scene seed ``HELDOUT_SEED_START + N`` of world 0) is stylized toward every training style,
with the same noise each time. The score of a task is the mean absolute difference (levels of 255) between the
outputs of every pair of styles; the ground truths' own spread is printed for scale. A task whose outputs barely
move when the style changes has learned a generic change, not the style (README, "Toy world").
``DIR`` is a base run (``DIR/i2v/pipeline``); ``--adapter`` a DreamStyle adapter folder (none: the base alone).
"""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

from benchmarks.toyworld.dreamstyle import FRAMES, SIZE, TASKS, task_inputs
from vidstyle.data.toy import HELDOUT_SEED_START, make_toy_sample
from vidstyle.data.toy.styles import DEFAULT_HELDOUT, STYLES
from vidstyle.pipelines.dreamstyle import DreamStylePipeline


def mean_pairwise_difference(videos: list[np.ndarray]) -> float:
    """Mean over pairs of the mean absolute difference of same-shape videos (any numeric dtype), in their units."""
    if len(videos) < 2:
        raise ValueError("needs at least two videos")
    return float(np.mean([np.abs(a.astype(np.float64) - b).mean() for a, b in combinations(videos, 2)]))


def toy_task_sample(style: str, scene: int) -> SimpleNamespace:
    """The eval-sample fields :func:`task_inputs` reads, for held-out scene ``scene`` in ``style``."""
    toy = make_toy_sample(0, HELDOUT_SEED_START + scene, style, SIZE, FRAMES, refs=1)
    return SimpleNamespace(raw=toy.raw, stylized=toy.stylized, t_ns=toy.t_ns, t_sty=toy.t_sty,
                           refs=[Image.fromarray(ref) for ref in toy.refs])


@torch.no_grad()
def style_sensitivity(pipe: DreamStylePipeline, styles: list[str], scene: int = 0, steps: int = 20,
                      guidance: float = 4.0) -> dict[str, float]:
    """Per task, the outputs' mean pairwise difference across ``styles``; ``"ground truth"``: the targets'."""
    pipe.set_progress_bar_config(disable=True)
    samples = [toy_task_sample(style, scene) for style in styles]
    scores = {}
    for task in TASKS:
        outputs = [pipe(sample.raw, **task_inputs(task, sample), height=SIZE, width=SIZE, num_inference_steps=steps,
                        guidance_scale=guidance, generator=torch.Generator().manual_seed(0)).frames[0] * 255.0
                   for sample in samples]
        scores[task] = mean_pairwise_difference(outputs)
    scores["ground truth"] = mean_pairwise_difference([sample.stylized for sample in samples])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--adapter", type=Path, default=None)
    parser.add_argument("--scene", type=int, default=0)
    args = parser.parse_args()
    pipe = DreamStylePipeline.from_pretrained(str(args.base / "i2v" / "pipeline"))
    if args.adapter is not None:
        pipe.load_token_lora(args.adapter)
    styles = [style for style in STYLES if style not in DEFAULT_HELDOUT]
    scores = style_sensitivity(pipe, styles, args.scene)
    print(f"mean pairwise |difference| across {len(styles)} training styles (levels of 255): "
          + ", ".join(f"{task} {value:.1f}" for task, value in scores.items()))


if __name__ == "__main__":
    main()
