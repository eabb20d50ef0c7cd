"""First-frame stylizers: the toy operator, or InstantStyle-like SDXL image-to-image with a style-only IP-Adapter."""

from __future__ import annotations

import copy

import numpy as np
import torch
from PIL import Image

from vidstyle.data.curation.sources import IPAdapterSource
from vidstyle.data.curation.stages import StageInput, to_uint8
from vidstyle.data.toy import apply_style
from vidstyle.errors import VidstyleInputError
from vidstyle.sizing import working_size

DEFAULT_STYLIZER = "stabilityai/stable-diffusion-xl-base-1.0"
DEFAULT_IP_ADAPTER = "h94/IP-Adapter/sdxl_models/ip-adapter_sdxl.safetensors"
# InstantStyle: the image prompt only reaches SDXL's style block (the second attention of up_blocks.0).
STYLE_LAYERS = {"up": {"block_0": [0.0, 1.0, 0.0]}}
SDXL_AREA = 1024 * 1024


class ToyStylizer:
    """The toy operator of the sample's style on the first frame, with the sample's seed (so it equals the first
    frame of :class:`~vidstyle.data.curation.propagators.ToyPropagator`'s video)."""

    identity = "toy"

    def stylize(self, frame: np.ndarray, job: StageInput) -> np.ndarray:
        return apply_style(job.style_id, frame[None], seed=job.seed)[0]


class InstantStyleStylizer:
    """A diffusers image-to-image pipeline with an IP-Adapter whose scale is non-zero only in the style layers.

    ``pipe(prompt=t_sty, image=first frame, ip_adapter_image=a style reference, strength, steps, generator)`` runs
    at the frame's aspect ratio and about ``area`` pixels (multiples of 16); the result is resized back to the
    frame's size. The reference is ``refs[seed % len(refs)]``.
    """

    def __init__(self, pipe, identity: str, steps: int = 30, strength: float = 0.6, area: int | None = None) -> None:
        self.pipe, self.identity = pipe, identity
        self.steps, self.strength, self.area = steps, strength, area or SDXL_AREA

    @classmethod
    def load(cls, source: str, adapter: IPAdapterSource, device: torch.device, dtype: torch.dtype,
             steps: int, strength: float, scale: dict = STYLE_LAYERS) -> InstantStyleStylizer:
        """``AutoPipelineForImage2Image.from_pretrained(source)`` + ``load_ip_adapter`` +
        ``set_ip_adapter_scale(scale)``, on ``device``."""
        from diffusers import AutoPipelineForImage2Image

        try:
            pipe = AutoPipelineForImage2Image.from_pretrained(source, dtype=dtype)
        except (OSError, ValueError) as err:
            raise VidstyleInputError(f"could not load stylizer {source}: {_first_line(err)}") from None
        if not hasattr(pipe, "load_ip_adapter"):
            raise VidstyleInputError(f"stylizer {source} ({type(pipe).__name__}) cannot take an IP-Adapter")
        try:
            pipe.load_ip_adapter(adapter.repo, subfolder=adapter.subfolder, weight_name=adapter.weight_name)
            pipe.set_ip_adapter_scale(copy.deepcopy(scale))
        except (OSError, ValueError, KeyError) as err:
            raise VidstyleInputError(f"could not load IP-Adapter {adapter.identity}: {_first_line(err)}") from None
        pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        identity = f"{source}+ip-adapter:{adapter.identity}"
        return cls(pipe, identity=identity, steps=steps, strength=strength)

    def stylize(self, frame: np.ndarray, job: StageInput) -> np.ndarray:
        """``uint8 [H, W, 3]`` -> ``uint8 [H, W, 3]``."""
        if not job.refs:
            raise VidstyleInputError(f"style {job.style_id!r} has no reference image for the IP-Adapter")
        height, width = frame.shape[:2]
        run_h, run_w = working_size(height, width, self.area)
        image = Image.fromarray(frame).resize((run_w, run_h), Image.Resampling.BICUBIC)
        generator = torch.Generator("cpu").manual_seed(job.seed)
        result = self.pipe(prompt=job.t_sty, image=image, ip_adapter_image=job.refs[job.seed % len(job.refs)],
                           strength=self.strength, num_inference_steps=self.steps, generator=generator,
                           output_type="np").images[0]  # [run_h, run_w, 3] in [0, 1]
        out = Image.fromarray(to_uint8(result)).resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(out)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
