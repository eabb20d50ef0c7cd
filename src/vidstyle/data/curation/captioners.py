"""Content captions ``t_ns``: a template from the file stem (default) or a vision-language model."""

from __future__ import annotations

import re

import numpy as np
import torch
from PIL import Image

from vidstyle.errors import VidstyleInputError

CAPTION_PROMPT = ("Describe the content of this image in one sentence: the subjects, what they are doing and the "
                  "setting. Do not mention the artistic style, the medium, the colour palette or the image quality.")


def template_caption(stem: str) -> str:
    """``"0001_woman-walking"`` -> ``"a video of woman walking"``: words of the stem, numbers left out."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", stem) if w and not w.isdigit()]
    return f"a video of {' '.join(words).lower()}" if words else "a video"


def clean_caption(text: str) -> str:
    """One line, single spaces, no trailing full stop."""
    return " ".join(text.split()).rstrip(" .")


class TemplateCaptioner:
    """``t_ns`` from the file stem (:func:`template_caption`); the raw frame is not looked at."""

    identity = "template"

    def caption(self, frame: np.ndarray, stem: str) -> str:
        return template_caption(stem)


class VLMCaptioner:
    """A transformers image-text-to-text model (``AutoProcessor`` + ``AutoModelForImageTextToText``) prompted on the
    first frame with :data:`CAPTION_PROMPT` through the processor's chat template; greedy decoding.

    An empty answer (a model that only emits special tokens) falls back to :func:`template_caption`.
    """

    def __init__(self, processor, model, identity: str, max_new_tokens: int = 60,
                 prompt: str = CAPTION_PROMPT) -> None:
        if getattr(processor, "chat_template", None) is None:
            raise VidstyleInputError(f"captioner {identity} has no chat template; use an instruction-tuned VLM")
        self.processor, self.model, self.identity = processor, model, identity
        self.max_new_tokens, self.prompt = max_new_tokens, prompt

    @classmethod
    def load(cls, source: str, device: torch.device, dtype: torch.dtype) -> VLMCaptioner:
        """Load processor and model from a hub id or a local directory (eval mode, on ``device``)."""
        from transformers import AutoModelForImageTextToText, AutoProcessor

        try:
            processor = AutoProcessor.from_pretrained(source)
            model = AutoModelForImageTextToText.from_pretrained(source, dtype=dtype)
        except (OSError, ValueError, KeyError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise VidstyleInputError(f"could not load captioner {source}: {first}") from None
        return cls(processor, model.to(device).eval(), identity=source)

    @torch.no_grad()
    def caption(self, frame: np.ndarray, stem: str) -> str:
        """``frame`` ``uint8 [H, W, 3]`` -> one-sentence content caption."""
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(images=[Image.fromarray(frame)], text=[text], return_tensors="pt")
        inputs = {k: v.to(self.model.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        answer = clean_caption(self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0])
        return answer or template_caption(stem)
