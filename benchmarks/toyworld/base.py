"""Toy-world base models trained from scratch on a CPU: the Wan VAE, then Wan I2V and T2V transformers on it.

    python -m benchmarks.toyworld.base [--out DIR] [--minutes M]

Builds a toy world (``--samples`` train clips of 64x64x9 and a held-out eval split) unless ``DIR/world`` holds
one, then trains the three models of ``benchmarks/toyworld/configs/*.yaml`` for shares of ``--minutes``: each
stage runs a short timed probe, sets ``max_steps`` from the measured rate and resumes to it (exact resume);
``--train-steps VAE,I2V,T2V`` replays an earlier run's step counts instead (its table gives them), whatever the
machine's speed. Within one session a 40-step VAE replay repeated bit for bit; the full replay across sessions did
not, even with the same code and library versions (docs/toyworld_benchmark.md), nor after later trainer changes.
Exports land under ``DIR`` for the later stages: ``vae/vae`` (``AutoencoderKLWan``), ``i2v/pipeline``
(``WanImageToVideoPipeline``) and ``t2v/pipeline`` (``WanPipeline``). Prints (and writes to ``DIR/results.md``)
a markdown table on ``--eval-clips`` eval clips: VAE reconstruction PSNR/SSIM; I2V PSNR/SSIM of the clip
generated from the eval clip's first frame and caption against the clip itself, trained vs untrained
transformer (and the first frame held still, for scale); T2V temporal flicker and colour-histogram distances
(``benchmarks/toyworld/metrics.py``), trained vs untrained (and real train clips, unrelated to the eval
captions: the level of real videos that ignore the caption). Contact sheets of
frames 0, 4 and 8 go to ``DIR/samples_*.png``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import yaml

from benchmarks.toyworld.evaluate import contact_sheet, fidelity, generate, quality_proxies
from vidstyle.backbones import load_pipeline
from vidstyle.backbones.toyworld import build_toyworld_components
from vidstyle.data.toy import build_toy_world
from vidstyle.training.base_trainer import PIPELINES, BaseTrainer, build_transformer
from vidstyle.training.config import BaseTrainConfig, TrainConfig, VAETrainConfig
from vidstyle.training.vae_trainer import (
    Clips,
    VAETrainer,
    load_clips,
    load_vae,
    reconstruct,
    reconstruction_metrics,
)

CONFIGS = Path(__file__).parent / "configs"
# of --minutes: the VAE, then the I2V and T2V bases side by side (one thread each); the rest is evaluation
SHARES = {"vae": 0.42, "base": 0.4}


def stage_config(name: str, cls: type[TrainConfig], **paths) -> TrainConfig:
    """``configs/NAME.yaml`` with its paths replaced."""
    return cls(**{**yaml.safe_load((CONFIGS / f"{name}.yaml").read_text()), **paths})


def train_within(trainer_cls, config: TrainConfig, seconds: float, probe: int,
                 steps: int | None = None) -> dict[str, float]:
    """Train ``probe`` steps, then resume to the step count that fills ``seconds`` (set-up included) at the
    measured step rate, or to ``steps`` when given (a replay: the probe still runs, so the steps are the same).
    Returns the step count and the wall time."""
    shutil.rmtree(config.output_dir, ignore_errors=True)
    start, stamps = time.perf_counter(), []
    quick = {"max_steps": probe, "checkpoint_every": probe, "cooldown_steps": 0}  # the same steps as the full run
    if isinstance(config, VAETrainConfig):
        quick["eval_dataset"] = None
    trainer_cls(config.model_copy(update=quick)).train(on_step=lambda step, loss: stamps.append(time.perf_counter()))
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    if steps is None:
        steps = probe + max(0, int(0.97 * rate * (seconds - (time.perf_counter() - start))))
    trainer_cls(config.model_copy(update={"max_steps": steps, "checkpoint_every": steps})).train(resume=True)
    return {"steps": steps, "seconds": time.perf_counter() - start}


def untrained_pipeline(config: BaseTrainConfig):
    """The exported pipeline's components with the transformer at its initialisation (before step 1)."""
    components = build_toyworld_components(config.kind, seed=config.encoders_seed, flow_shift=config.flow_shift,
                                           vae=load_vae(config.vae), transformer=build_transformer(config).eval())
    return PIPELINES[config.kind](**components)


def evaluate_base(config: BaseTrainConfig, export: Path, clips: Clips, steps: int, guidance: float,
                  out: Path) -> dict[str, dict[str, float]]:
    """Trained vs untrained rows of one base model (I2V: fidelity; T2V: quality proxies)."""
    score = fidelity if config.kind == "i2v" else quality_proxies
    trained = generate(load_pipeline(PIPELINES[config.kind], model=export)[0], clips, steps, guidance)
    untrained = generate(untrained_pipeline(config), clips, steps, guidance)
    sheet = [clip for i in range(min(6, len(clips.frames)))
             for clip in (clips.frames[i].numpy(), trained[i], untrained[i])]
    contact_sheet(sheet).save(out / f"samples_{config.kind}.png")
    np.savez_compressed(out / f"generated_{config.kind}.npz", trained=trained, untrained=untrained)
    return {"trained": score(trained, clips), "untrained": score(untrained, clips)}


def reference_rows(clips: Clips, train: Clips, vae) -> dict[str, dict[str, float]]:
    """For scale: the first frame held still, as is and through the VAE (I2V); real train clips, unrelated to
    the eval captions (T2V)."""
    real = clips.frames.numpy()
    still = np.repeat(real[:, :1], real.shape[1], axis=1)
    return {"i2v": fidelity(still, clips), "i2v_vae": fidelity(reconstruct(vae, torch.from_numpy(still)), clips),
            "t2v": quality_proxies(train.frames.numpy(), clips)}


def table(results: dict) -> str:
    """The markdown report."""
    vae, i2v, t2v, ref = results["vae"], results["i2v"], results["t2v"], results["reference"]
    lines = ["| model | steps | train s | metric | trained | untrained | reference |", "|---|---|---|---|---|---|---|",
             f"| VAE | {vae['steps']} | {vae['seconds']:.0f} | recon PSNR dB / SSIM | {vae['psnr']:.2f} / "
             f"{vae['ssim']:.3f} | | |"]
    if "stylized" in vae:  # base runs older than this row did not measure it
        lines.append(f"| VAE | {vae['steps']} | {vae['seconds']:.0f} | recon PSNR dB / SSIM, stylized clips | "
                     f"{vae['stylized']['psnr']:.2f} / {vae['stylized']['ssim']:.3f} | | |")
    lines.append(
             f"| I2V base | {i2v['steps']} | {i2v['seconds']:.0f} | PSNR dB / SSIM vs eval clip | "
             f"{i2v['trained']['psnr']:.2f} / {i2v['trained']['ssim']:.3f} | {i2v['untrained']['psnr']:.2f} / "
             f"{i2v['untrained']['ssim']:.3f} | still first frame: {ref['i2v']['psnr']:.2f} / "
             f"{ref['i2v']['ssim']:.3f}; through the VAE: {ref['i2v_vae']['psnr']:.2f} / "
             f"{ref['i2v_vae']['ssim']:.3f} |")
    for key, label in (("flicker", "temporal flicker"), ("hist_paired", "colour-hist dist. to the caption's clip"),
                       ("hist_set", "colour-hist dist., pooled")):
        reference = f"real train clips: {ref['t2v'][key]:.3f}"
        lines.append(f"| T2V base | {t2v['steps']} | {t2v['seconds']:.0f} | {label} | {t2v['trained'][key]:.3f} | "
                     f"{t2v['untrained'][key]:.3f} | {reference} |")
    return "\n".join(lines)


def base_stage(kind: str, out: Path, vae_export: Path, seconds: float | None, args: argparse.Namespace) -> dict:
    """Train (unless ``seconds`` is None: score the export already there) and evaluate one base model; a worker
    process with one thread, the two bases run side by side."""
    torch.set_num_threads(1)
    world = out / "world"
    config = stage_config(kind, BaseTrainConfig, dataset=world / "train", vae=vae_export, output_dir=out / kind)
    replay = (args.train_steps or {}).get(kind)
    trained = {} if seconds is None else train_within(BaseTrainer, config, seconds, probe=30, steps=replay)
    clips = load_clips(world / "eval", 64, 64, 9, limit=args.eval_clips)
    return {**evaluate_base(config, out / kind / "pipeline", clips, args.steps, args.guidance, out), **trained}


def run_stages(args: argparse.Namespace) -> dict:
    """World, VAE, then the two bases side by side (with ``--evaluate-only``: the earlier run's exports and
    timings); the results of every stage."""
    out, budget, world = args.out, args.minutes * 60, args.out / "world"
    previous = json.loads((out / "results.json").read_text()) if args.evaluate_only else None
    if previous is None and not (world / "toy_world.json").is_file():
        build_toy_world(world, samples=args.samples, size=64, frames=9, seed=0, overwrite=True)
    timing = {k: {"steps": previous[k]["steps"], "seconds": previous[k]["seconds"]} for k in ("vae", "i2v", "t2v")
              } if previous else {}
    if previous is None:
        timing["vae"] = train_within(VAETrainer, stage_config("vae", VAETrainConfig, dataset=world / "train",
                                                              eval_dataset=world / "eval", output_dir=out / "vae"),
                                     SHARES["vae"] * budget, probe=40, steps=(args.train_steps or {}).get("vae"))
    vae = load_vae(out / "vae" / "vae")
    clips = load_clips(world / "eval", 64, 64, 9, limit=args.eval_clips)
    train = load_clips(world / "train", 64, 64, 9, limit=args.eval_clips)
    styled = load_clips(world / "eval", 64, 64, 9, limit=args.eval_clips, stylized=True).frames[1::2]
    results = {"vae": {**reconstruction_metrics(vae, clips.frames), **timing["vae"],
                       "stylized": reconstruction_metrics(vae, styled)},
               "reference": reference_rows(clips, train, vae)}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = {kind: pool.submit(base_stage, kind, out, out / "vae" / "vae",
                                  None if previous else SHARES["base"] * budget, args) for kind in ("i2v", "t2v")}
        results.update({kind: {**job.result(), **timing.get(kind, {})} for kind, job in jobs.items()})
    return results


def replay_steps(text: str) -> dict[str, int]:
    """``"3248,3428,4039"`` -> ``{"vae": 3248, "i2v": 3428, "t2v": 4039}``."""
    counts = [int(item) for item in text.split(",")]
    if len(counts) != 3 or min(counts) < 1:
        raise argparse.ArgumentTypeError("expected three positive step counts: VAE,I2V,T2V")
    return dict(zip(("vae", "i2v", "t2v"), counts, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/toyworld"))
    parser.add_argument("--minutes", type=float, default=25.0, help="total budget (world, training, evaluation)")
    parser.add_argument("--samples", type=int, default=400, help="train clips of the toy world")
    parser.add_argument("--eval-clips", type=int, default=24)
    parser.add_argument("--steps", type=int, default=20, help="denoising steps when generating")
    parser.add_argument("--guidance", type=float, default=4.0)
    parser.add_argument("--evaluate-only", action="store_true", help="score the exports of an earlier run in --out")
    parser.add_argument("--train-steps", type=replay_steps, default=None, metavar="VAE,I2V,T2V",
                        help="train to these step counts (an earlier run's) instead of filling --minutes")
    args = parser.parse_args()
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    results = run_stages(args)
    results["wall_seconds"] = time.perf_counter() - start
    report = table(results) + f"\n\nwall time {results['wall_seconds'] / 60:.1f} min; {args.eval_clips} eval clips, " \
        f"{args.steps} denoising steps, guidance {args.guidance}\n"
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "results.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
