"""StyleMaster inference cost against diffusers' WanPipeline on the same components.

    python -m benchmarks.bench_stylemaster                 # 81 frames at 256x256 (tiny width, 5,376 tokens)

Variants: ``wan_t2v`` (WanPipeline, guidance 5: 2 transformer passes per step); ``generation``
(StyleMasterPipeline with style attention, motion LoRA and an idle ControlNet attached: 3 passes per
step); ``transfer`` (the same with a source video, ControlNet active on every step). Per-step time is
the median over interleaved repeats; "per pass" divides by the passes per step, isolating the cost of
the added modules from the three-pass guidance (1.5x by construction).
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import torch
from diffusers import WanPipeline
from PIL import Image

from benchmarks.common import median_step_times, peak_rss_mb
from vidstyle import StyleMasterPipeline
from vidstyle.backbones import build_tiny_components

VARIANTS = ("wan_t2v", "generation", "transfer")
PASSES = {"wan_t2v": 2, "generation": 3, "transfer": 3}


def make_pipes(variants=VARIANTS) -> dict:
    components = build_tiny_components("t2v", seed=0)
    pipes = {"wan_t2v": WanPipeline(**components)}
    if set(variants) - {"wan_t2v"}:
        styled = StyleMasterPipeline(**{**components, "transformer": copy.deepcopy(components["transformer"])})
        styled.init_stylemaster("tiny", motion_rank=32, qformer_heads=2, projection_hidden=32)
        pipes["generation"] = pipes["transfer"] = styled
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)
    return pipes


def inputs(frames: int, size: int) -> tuple[np.ndarray, Image.Image]:
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8),
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))


def run_variant(variant: str, pipes: dict, video, style, steps: int, callback=None) -> None:
    frames, size = len(video), video.shape[1]
    common = dict(num_inference_steps=steps, height=size, width=size, output_type="latent",
                  generator=torch.Generator().manual_seed(0), callback_on_step_end=callback)
    if variant == "wan_t2v":
        pipes[variant](prompt="a scene", num_frames=frames, guidance_scale=5.0, **common)
    elif variant == "generation":
        pipes[variant]("a scene", style_image=style, num_frames=frames, **common)
    else:
        pipes[variant]("a scene", style_image=style, video=video, control_fraction=1.0, **common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    pipes = make_pipes()
    video, style = inputs(args.frames, args.size)
    runners = {v: (lambda cb, v=v: run_variant(v, pipes, video, style, args.steps, cb)) for v in VARIANTS}
    times = median_step_times(runners, args.repeats)
    memory = {v: peak_rss_mb(f"import benchmarks.bench_stylemaster as b; p=b.make_pipes(({v!r},)); "
                             f"x,s=b.inputs({args.frames},{args.size}); b.run_variant({v!r},p,x,s,{args.steps})")
              for v in VARIANTS}
    tokens = ((args.frames - 1) // 4 + 1) * (args.size // 16) ** 2
    print(f"# StyleMaster vs WanPipeline: {args.frames} frames at {args.size}x{args.size} ({tokens} tokens), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| variant | passes/step | s/step | vs WanPipeline | per pass vs WanPipeline | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    base_pass = times["wan_t2v"] / PASSES["wan_t2v"]
    for v in VARIANTS:
        print(f"| {v} | {PASSES[v]} | {times[v]:.3f} | {times[v] / times['wan_t2v']:.3f} | "
              f"{times[v] / PASSES[v] / base_pass:.3f} | {memory[v]:.0f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"config": vars(args), "seconds_per_step": times, "peak_rss_mb": memory}, handle, indent=2)


if __name__ == "__main__":
    main()
