"""DreamStyle on the toy world: token-specific LoRA (CT, then SFT from it) on the trained toy I2V base.

    python -m benchmarks.toyworld.dreamstyle --base DIR [--minutes M]

``DIR`` is the output of ``benchmarks.toyworld.base`` (``DIR/world`` and ``DIR/i2v/pipeline``). The train split
is cached with ``vidstyle cache`` and the adapter trained with ``vidstyle train dreamstyle`` (the product path),
CT for 2/3 of the training budget and SFT for 1/3. Then, on the eval split (held-out content seeds; rows of
held-out styles reported apart), each of the three tasks runs with the trained adapter and without one (the
untrained baseline: the base I2V on DreamStyle's layout) and is scored against the ground-truth stylized clip
(PSNR, SSIM). Tasks: ``text`` (prompt ``t_sty``), ``style_image`` (``t_ns`` + the references), ``first_frame``
(``t_ns`` + the ground truth's first frame). Writes ``OUT/results.md`` and a contact sheet per task.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from benchmarks.toyworld.evaluate import contact_sheet, to_uint8
from vidstyle.cli.train import run_cache, run_train
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample
from vidstyle.metrics.fidelity import psnr, ssim
from vidstyle.pipelines.dreamstyle import DreamStylePipeline

TASKS = ("text", "style_image", "first_frame")
SIZE, FRAMES = 64, 9


def train_adapter(base: Path, out: Path, steps: int, rank: int, learning_rate: float,
                  token_specific: bool = True) -> Path:
    """Cache the train split once, then CT (2/3 of ``steps``) and SFT from the CT adapter (1/3);
    ``token_specific=False`` trains the shared-LoRA ablation."""
    model = base / "i2v" / "pipeline"
    cache = out / "cache"
    if not (cache / "index.json").is_file():
        run_cache(base / "world" / "train", cache, None, str(model), SIZE, SIZE, FRAMES, "skip", "0/1", "cpu",
                  "float32", True, "dreamstyle", FRAMES, "tiny")
    export = None
    for stage, stage_steps in (("ct", steps * 2 // 3), ("sft", steps - steps * 2 // 3)):
        config = {"cache": str(cache), "model": str(model), "preset": None, "output_dir": str(out / stage),
                  "stage": stage, "max_steps": stage_steps, "rank": rank, "learning_rate": learning_rate,
                  "gradient_accumulation": 1, "checkpoint_every": stage_steps, "warmup_steps": 0,
                  "token_specific": token_specific}
        if export is not None:
            config["init_adapter"] = str(export)
        path = out / f"{stage}.yaml"
        path.write_text(yaml.safe_dump(config))
        export = run_train("dreamstyle", path, resume=False)
    return export


def task_inputs(task: str, sample) -> dict:
    """The pipeline arguments of one task for a decoded eval sample."""
    if task == "text":
        return {"prompt": sample.t_sty}
    if task == "style_image":
        return {"prompt": sample.t_ns, "style_images": sample.refs}
    return {"prompt": sample.t_ns, "first_frame": Image.fromarray(sample.stylized[0])}


@torch.no_grad()
def run_tasks(pipe: DreamStylePipeline, samples: list, steps: int, guidance: float) -> dict[str, np.ndarray]:
    """Per task, the stylized eval clips uint8 ``[N, F, H, W, 3]``; sample ``i`` draws its noise from seed ``i``."""
    pipe.set_progress_bar_config(disable=True)
    return {task: np.stack([to_uint8(pipe(sample.raw, **task_inputs(task, sample), height=SIZE, width=SIZE,
                                          num_inference_steps=steps, guidance_scale=guidance,
                                          generator=torch.Generator().manual_seed(i)).frames[0])
                            for i, sample in enumerate(samples)])
            for task in TASKS}


def scores(videos: np.ndarray, samples: list, rows: list[int]) -> tuple[float, float]:
    """Mean PSNR and SSIM against the ground truth over the sample indices ``rows``."""
    return (float(np.mean([psnr(videos[i], samples[i].stylized) for i in rows])),
            float(np.mean([ssim(videos[i], samples[i].stylized) for i in rows])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, default=Path("runs/toyworld"))
    parser.add_argument("--out", type=Path, default=None, help="default: BASE/dreamstyle")
    parser.add_argument("--train-steps", type=int, default=3000)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--eval-samples", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="denoising steps")
    parser.add_argument("--guidance", type=float, default=4.0)
    parser.add_argument("--shared-lora", action="store_true", help="the ablation: one LoRA for all tokens")
    args = parser.parse_args()
    out = args.out or args.base / "dreamstyle"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    adapter = train_adapter(args.base, out, args.train_steps, args.rank, args.learning_rate, not args.shared_lora)
    train_s = time.perf_counter() - start

    world = args.base / "world"
    heldout = set(json.loads((world / "toy_world.json").read_text())["heldout_styles"])
    records = read_manifest(world / "eval", on_error="stop").records[: args.eval_samples]
    samples = [load_sample(world / "eval", r, SIZE, SIZE, max_frames=FRAMES) for r in records]
    groups = {"held-out content": [i for i, s in enumerate(samples) if s.style_id not in heldout],
              "held-out styles": [i for i, s in enumerate(samples) if s.style_id in heldout]}
    pipe = DreamStylePipeline.from_pretrained(str(args.base / "i2v" / "pipeline"))
    untrained = run_tasks(pipe, samples, args.steps, args.guidance)
    pipe.load_token_lora(adapter)
    trained = run_tasks(pipe, samples, args.steps, args.guidance)

    kind = "shared LoRA (ablation)" if args.shared_lora else "token-specific LoRA"
    lines = [f"DreamStyle on the toy world: {kind}, rank {args.rank}, {args.train_steps} steps (CT 2/3, SFT 1/3), "
             f"cache (when not already built) and training {train_s:.0f} s; {len(samples)} eval samples, "
             f"{args.steps} denoising steps, guidance {args.guidance}; PSNR dB / SSIM against the ground-truth "
             "stylized clip.", "",
             "| task | eval rows | samples | trained | untrained |", "|---|---|---|---|---|"]
    for task in TASKS:
        for group, rows in groups.items():
            if rows:
                t, u = scores(trained[task], samples, rows), scores(untrained[task], samples, rows)
                lines.append(f"| {task} | {group} | {len(rows)} | {t[0]:.2f} / {t[1]:.3f} | {u[0]:.2f} / {u[1]:.3f} |")
        sheet = [clip for i in range(min(4, len(samples)))
                 for clip in (samples[i].raw, samples[i].stylized, trained[task][i], untrained[task][i])]
        contact_sheet(sheet).save(out / f"samples_{task}.png")
    lines.append(f"\nTotal wall time {time.perf_counter() - start:.0f} s.")
    report = "\n".join(lines)
    (out / "results.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
