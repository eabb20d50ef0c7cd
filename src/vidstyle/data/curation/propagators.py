"""Propagators: a Wan image-to-video base model (the real path) or the toy operator on the whole raw video."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from vidstyle.data.curation.stages import StageInput, to_uint8
from vidstyle.data.toy import apply_style
from vidstyle.errors import VidstyleInputError

WAN_GUIDANCE = 5.0


class ToyPropagator:
    """The toy operator of the sample's style on the whole raw video with the sample's seed: the exact stylized
    video of toy-world data (the stylized first frame is not needed: it is this video's first frame)."""

    identity = "toy"

    def propagate(self, first: np.ndarray, raw: np.ndarray, job: StageInput) -> np.ndarray:
        return apply_style(job.style_id, raw, seed=job.seed)


class WanPropagator:
    """A plain diffusers ``WanImageToVideoPipeline``: ``image`` = the stylized first frame, ``prompt`` = ``t_sty``,
    ``num_frames`` = the raw clip's ``4k+1`` frames at its size, ``steps`` steps, guidance 5, the sample's seed."""

    def __init__(self, pipe, identity: str, steps: int = 30, guidance: float = WAN_GUIDANCE) -> None:
        self.pipe, self.identity, self.steps, self.guidance = pipe, identity, steps, guidance

    @classmethod
    def load(cls, preset: str | None, model: str | None, device: torch.device, dtype: torch.dtype, steps: int,
             seed: int = 0) -> WanPropagator:
        """Load through :func:`vidstyle.backbones.load_pipeline` (``tiny``: random weights drawn from ``seed``)."""
        from diffusers import WanImageToVideoPipeline

        from vidstyle.backbones import load_pipeline

        pipe, chosen = load_pipeline(WanImageToVideoPipeline, preset=preset, model=model, dtype=dtype,
                                     device=device, seed=seed)
        if pipe.transformer.config.image_dim is None or pipe.transformer.config.in_channels != 36:
            raise VidstyleInputError(f"{model or chosen.name} is not an image-to-video Wan model; propagation "
                                     "needs one (e.g. --preset wan2.1-i2v-14b-480p)")
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, identity=f"wan:{model or chosen.name}", steps=steps)

    def propagate(self, first: np.ndarray, raw: np.ndarray, job: StageInput) -> np.ndarray:
        """``first`` ``uint8 [H, W, 3]``, ``raw`` ``uint8 [F, H, W, 3]`` (F = 4k+1, H and W multiples of 16) ->
        ``uint8 [F, H, W, 3]``."""
        frames, height, width = raw.shape[:3]
        generator = torch.Generator("cpu").manual_seed(job.seed)
        video = self.pipe(image=Image.fromarray(first), prompt=job.t_sty, height=height, width=width,
                          num_frames=frames, num_inference_steps=self.steps, guidance_scale=self.guidance,
                          generator=generator, output_type="np").frames[0]  # [F, H, W, 3] in [0, 1]
        return to_uint8(video)
