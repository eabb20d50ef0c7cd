"""DreamStyle inference cost against diffusers' WanImageToVideoPipeline on the same components.

    python -m benchmarks.bench_dreamstyle                 # 81 frames at 256x256 (tiny width, 5,376 tokens)
    python -m benchmarks.bench_dreamstyle --frames 41 --size 128 --steps 4

Per-step time is the median gap between consecutive step callbacks, over repeats of every variant
interleaved in one process, the order rotating each repeat (so machine noise hits all alike).
Peak memory is the peak RSS of a fresh process that builds and runs one variant only. Both
pipelines use classifier-free guidance (two transformer passes per step). Prints a Markdown
table and writes JSON with --json.
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import torch
from diffusers import DiffusionPipeline, WanImageToVideoPipeline
from PIL import Image

from benchmarks.common import median_step_times, peak_rss_mb
from vidstyle import DreamStylePipeline, TokenLoRAConfig
from vidstyle.backbones import build_tiny_components

# wan_i2v_same_tokens: Wan I2V with 4 more frames = one more latent frame, i.e. as many tokens as
# DreamStyle with one style frame; DreamStyle / it isolates our overhead from the method's extra tokens.
VARIANTS = ("wan_i2v", "wan_i2v_same_tokens", "dreamstyle", "dreamstyle_lora_merged", "dreamstyle_lora_unmerged")


def inputs(frames: int, size: int) -> tuple[np.ndarray, Image.Image]:
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    return video, Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def make_pipes(variants: tuple[str, ...] = VARIANTS) -> dict[str, DiffusionPipeline]:
    """One pipeline per variant on the same weights; the LoRA variants own a transformer copy with a
    rank-64 adapter attached once (random up matrices: cost does not depend on the values)."""
    components = build_tiny_components("i2v", seed=0)
    pipes: dict[str, DiffusionPipeline] = {
        "wan_i2v": WanImageToVideoPipeline(**components), "dreamstyle": DreamStylePipeline(**components)}
    pipes["wan_i2v_same_tokens"] = pipes["wan_i2v"]
    for variant in [v for v in variants if v.startswith("dreamstyle_lora")]:
        pipe = DreamStylePipeline(**{**components, "transformer": copy.deepcopy(components["transformer"])})
        adapter = pipe.add_token_lora(TokenLoRAConfig(rank=64))
        with torch.no_grad():
            for p in adapter.parameters():
                p.normal_(std=0.01)
        if variant.endswith("_merged"):
            adapter.merge()
        pipes[variant] = pipe
    pipes = {v: pipes[v] for v in variants}
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)
    return pipes


def run_variant(variant: str, pipes: dict[str, DiffusionPipeline], video, style, steps: int, callback=None) -> None:
    """One generation of ``variant`` (latents only), calling ``callback`` after every step."""
    common = dict(prompt="a scene", num_inference_steps=steps, guidance_scale=5.0, output_type="latent",
                  generator=torch.Generator().manual_seed(0), callback_on_step_end=callback)
    if variant.startswith("wan_i2v"):
        height, width = video.shape[1:3]
        frames = len(video) + (4 if variant == "wan_i2v_same_tokens" else 0)
        pipes[variant](image=Image.fromarray(video[0]), num_frames=frames, height=height, width=width, **common)
    else:
        pipes[variant](video, style_images=[style], **common)


def per_step_times(frames: int, size: int, steps: int, repeats: int, variants=VARIANTS) -> dict[str, float]:
    """Median per-step time of each variant; the order rotates every repeat."""
    pipes = make_pipes(variants)
    video, style = inputs(frames, size)
    runners = {v: (lambda cb, v=v: run_variant(v, pipes, video, style, steps, cb)) for v in variants}
    return median_step_times(runners, repeats)


def variant_peak_rss(variant: str, frames: int, size: int, steps: int) -> float:
    """Peak RSS of a fresh process that builds and runs ``variant`` only."""
    return peak_rss_mb(f"import benchmarks.bench_dreamstyle as b; p=b.make_pipes(({variant!r},)); "
                       f"v,s=b.inputs({frames},{size}); b.run_variant({variant!r},p,v,s,{steps})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true", help="skip the frames/resolution sweep")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    torch.manual_seed(0)
    latent_frames = (args.frames - 1) // 4 + 1
    tokens = latent_frames * (args.size // 16) ** 2
    print(f"# DreamStyle vs WanImageToVideoPipeline: {args.frames} frames at {args.size}x{args.size} "
          f"({tokens} video tokens; DreamStyle adds {(args.size // 16) ** 2} style tokens), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    times = per_step_times(args.frames, args.size, args.steps, args.repeats)
    memory = {v: variant_peak_rss(v, args.frames, args.size, args.steps) for v in VARIANTS}
    print("| variant | s/step | vs Wan I2V | vs Wan I2V, same tokens | peak RSS MB | vs Wan I2V |")
    print("|---|---|---|---|---|---|")
    for v in VARIANTS:
        base, same = times[v] / times["wan_i2v"], times[v] / times["wan_i2v_same_tokens"]
        print(f"| {v} | {times[v]:.3f} | {base:.3f} | {same:.3f} | {memory[v]:.0f} | "
              f"{memory[v] / memory['wan_i2v']:.3f} |")
    lora_ratio = times["dreamstyle_lora_merged"] / times["dreamstyle"]
    print(f"\ntoken LoRA (rank 64, merged) / no LoRA: {lora_ratio:.3f} (target <= 1.02); "
          f"unmerged: {times['dreamstyle_lora_unmerged'] / times['dreamstyle']:.3f}")
    result = {"config": vars(args), "seconds_per_step": times, "peak_rss_mb": memory}
    if not args.no_scaling:
        sweep = {}
        print("\n| DreamStyle style mode | tokens | s/step |\n|---|---|---|")
        for frames, size in [(21, 128), (41, 128), (81, 128), (41, 64), (41, 192), (41, 256)]:
            t = per_step_times(frames, size, 3, 1, variants=("dreamstyle",))["dreamstyle"]
            n = ((frames - 1) // 4 + 2) * (size // 16) ** 2
            sweep[f"{frames}x{size}"] = {"tokens": n, "seconds_per_step": t}
            print(f"| {frames} frames, {size}x{size} | {n} | {t:.4f} |")
        result["scaling"] = sweep
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
