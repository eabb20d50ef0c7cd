"""Running StyleMaster weights on toy-world eval samples: the two tasks, with outputs kept on disk.

``generation``: prompt ``t_ns`` + the first style reference, no video. ``transfer``: the raw clip + the first
reference, prompt ``t_ns``. Sample ``i`` draws its noise from seed ``i``. Every run's clips are saved as
``OUT/eval/NAME.npy`` (uint8 ``[N, F, H, W, 3]``) and reused by a rerun with the same samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.toyworld.evaluate import to_uint8
from benchmarks.toyworld.stylemaster_train import SIZE, StageTimes, log, model_dir
from vidstyle.data.samples import Sample
from vidstyle.pipelines.stylemaster import StyleMasterPipeline
from vidstyle.style.clip import TINY_CLIP

TASKS = ("generation", "transfer")


@dataclass
class Sampling:
    """Denoising settings shared by every evaluated run."""

    steps: int = 20
    guidance: float = 4.0
    style_guidance: float = 4.0  # transfer
    generation_style_guidance: float = 2.0

    def style_guidance_for(self, task: str) -> float:
        return self.generation_style_guidance if task == "generation" else self.style_guidance


def load_pipe(base: Path, weights: Path | None) -> StyleMasterPipeline:
    """The toy T2V base with the StyleMaster parts of ``weights``, or fresh untrained ones (style attention a
    no-op, ControlNet zero-initialised, no motion LoRA) when None."""
    pipe = StyleMasterPipeline.from_pretrained(str(model_dir(base)))
    pipe.set_progress_bar_config(disable=True)
    if weights is None:
        pipe.init_stylemaster(clip_id=TINY_CLIP, controlnet=True)
    else:
        pipe.load_stylemaster(weights)
    return pipe


@torch.no_grad()
def run_task(pipe: StyleMasterPipeline, task: str, samples: list[Sample], sampling: Sampling,
             motion_scale: float | None = None) -> np.ndarray:
    """The outputs of ``task`` for every sample, uint8 ``[N, F, H, W, 3]``."""
    clips = []
    for i, sample in enumerate(samples):
        inputs = {"video": sample.raw} if task == "transfer" else {"num_frames": len(sample.raw)}
        frames = pipe(sample.t_ns, style_image=sample.refs[0], height=SIZE, width=SIZE,
                      num_inference_steps=sampling.steps, guidance_scale=sampling.guidance,
                      style_guidance_scale=sampling.style_guidance_for(task), motion_scale=motion_scale,
                      generator=torch.Generator().manual_seed(i), **inputs).frames[0]
        clips.append(to_uint8(frames))
    return np.stack(clips)


def run_variant(out: Path, name: str, base: Path, weights: Path | None, tasks: tuple[str, ...],
                samples: list[Sample], sampling: Sampling, motion_scales: dict[str, float] | None = None,
                times: StageTimes | None = None) -> dict[str, np.ndarray]:
    """Outputs per run key (``TASK``, and ``generation LABEL`` for each ``motion_scales`` entry) of one weights
    folder; runs saved under ``out`` are loaded instead of recomputed (the pipeline loads only if needed). The
    seconds spent computing go to ``times`` as ``eval NAME``."""
    runs = {task: (task, None) for task in tasks}
    runs.update({f"generation {label}": ("generation", alpha) for label, alpha in (motion_scales or {}).items()})
    outputs: dict[str, np.ndarray] = {}
    pipe, start = None, time.perf_counter()
    for key, (task, alpha) in runs.items():
        path = out / f"{name} {key}.npy".replace(" ", "_")
        if path.is_file() and np.load(path).shape == (len(samples), *samples[0].raw.shape):
            outputs[key] = np.load(path)
            continue
        if pipe is None:
            pipe = load_pipe(base, weights)
        log(f"eval {name}: {key} on {len(samples)} samples")
        outputs[key] = run_task(pipe, task, samples, sampling, alpha)
        out.mkdir(parents=True, exist_ok=True)
        np.save(path, outputs[key])
    if pipe is not None and times is not None:
        times.record(f"eval {name}", time.perf_counter() - start)
    return outputs


def motion_amount(clip: np.ndarray) -> float:
    """Mean ``|x_last - x_first| / 255`` of ``[F, H, W, 3]``: how far the content moved over the clip (flicker,
    the mean change between consecutive frames, also counts jitter)."""
    return float(np.abs(clip[-1].astype(np.float32) - clip[0].astype(np.float32)).mean() / 255.0)
