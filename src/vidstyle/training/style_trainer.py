"""`vidstyle train style`: StyleMaster's style extractor (Q-Former, local head) and style cross-attention.

Stage ``image`` trains on 1-frame samples, stage ``video`` on videos (start it from the image stage with
``init_from``). Text is dropped with ``text_dropout`` so the module also works without a prompt. Style
can be dropped too (``style_dropout``, default 0): here the no-style branch skips the style attention
exactly, so it *is* the frozen base, already in distribution, and a style-dropped step trains nothing.
The global projection is trained by the projection trainer and frozen here unless ``train_projection``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from safetensors.torch import load_file, save_file

from vidstyle.adapters.serialization import load_strict
from vidstyle.adapters.style_attention import STYLE_TOKENS_KEY, StyleAttentionAdapter, StyleAttentionConfig
from vidstyle.errors import VidstyleInputError
from vidstyle.style import StyleExtractor, StyleExtractorConfig
from vidstyle.style.clip import load_clip_model
from vidstyle.training.cache import CachedDataset
from vidstyle.training.config import StyleTrainConfig
from vidstyle.training.flow_matching import flow_matching_draw
from vidstyle.training.loop import load_frozen_transformer, make_accelerator, make_optimizer, run_loop, sample_index

NULL_TEXT = "null_text.safetensors"


@dataclass
class StyleSample:
    """``target``: ``[1, 16, F_lat, h, w]`` stylized latents; ``text``: ``[1, 512, D]`` (``t_ns``);
    ``ref_pixels``: ``[1, 3, S, S]`` CLIP input of a style reference; ``ref_ids``/``ref_mask``: ``[1, 77]``."""

    target: torch.Tensor
    text: torch.Tensor
    ref_pixels: torch.Tensor
    ref_ids: torch.Tensor
    ref_mask: torch.Tensor

    def to(self, device: torch.device) -> StyleSample:
        return StyleSample(*(t.to(device) for t in (self.target, self.text, self.ref_pixels, self.ref_ids,
                                                     self.ref_mask)))


@torch.no_grad()
def encode_style_sample(pipe, tokenizer, processor, sample, height: int, width: int) -> StyleSample:
    """Stylized latents, the content caption, and the first reference prepared for CLIP."""
    text = pipe.encode_prompt(sample.t_ns, do_classifier_free_guidance=False, max_sequence_length=512,
                              device=pipe._execution_device)[0]
    tokens = tokenizer([sample.t_ns], padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    pixels = processor(images=[np.asarray(sample.refs[0])], return_tensors="pt")["pixel_values"]
    return StyleSample(pipe.encode_pixels(pipe.video_to_pixels(sample.stylized, height, width)), text, pixels,
                       tokens["input_ids"], tokens["attention_mask"])


@torch.no_grad()
def write_null_text(pipe, cache: Path) -> None:
    """The empty prompt's embedding ``[1, 512, D]``, used when text is dropped."""
    null = pipe.encode_prompt("", do_classifier_free_guidance=False, max_sequence_length=512,
                              device=pipe._execution_device)[0]
    Path(cache).mkdir(parents=True, exist_ok=True)
    save_file({"text": null.contiguous().cpu()}, Path(cache) / NULL_TEXT)


class StyleTokensModule(torch.nn.Module):
    """The extractor as a module returning plain tokens ``[B, N, D]`` (what DDP wraps)."""

    def __init__(self, extractor: StyleExtractor) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, pixels: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, seed: int) -> torch.Tensor:
        return self.extractor(pixels, ids, mask, shuffle_seed=seed).tokens


class StyleTrainer:
    """Trains the extractor's Q-Former/local head and the style attention; exports ``OUTPUT/stylemaster/``."""

    def __init__(self, config: StyleTrainConfig, transformer=None) -> None:
        self.config = config
        self.dataset = CachedDataset(config.cache, StyleSample, kind="style")
        single = [i for i in range(len(self.dataset)) if self.dataset[i].target.shape[2] == 1]
        self.indices = single if config.stage == "image" else sorted(set(range(len(self.dataset))) - set(single))
        if not self.indices:
            raise VidstyleInputError(f"{config.cache} has no {'1-frame' if config.stage == 'image' else 'video'} "
                                     f"samples for the {config.stage} stage")
        self.null_text = load_file(Path(config.cache) / NULL_TEXT)["text"]
        self.accelerator = make_accelerator(config, find_unused_parameters=True)
        transformer = transformer if transformer is not None else load_frozen_transformer(config, "tiny-t2v")
        transformer.requires_grad_(False)
        set_seed(config.seed)
        if config.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        width = transformer.config.num_attention_heads * transformer.config.attention_head_dim
        if config.init_from is not None:
            extractor = StyleExtractor.from_pretrained(Path(config.init_from) / "style_extractor")
            self.attention = StyleAttentionAdapter.load(transformer, Path(config.init_from) / "style_attention")
        else:
            options = {"clip_model": config.clip_model, "out_dim": width, "seed": config.seed,
                       **config.extractor_options}
            extractor = StyleExtractor(StyleExtractorConfig(**options), load_clip_model(config.clip_model))
            self.attention = StyleAttentionAdapter(transformer, StyleAttentionConfig(style_dim=width))
        if config.init_projection is not None:
            projection = StyleExtractor.from_pretrained(config.init_projection, clip_model=extractor.clip)
            extractor.global_proj.load_state_dict(projection.global_proj.state_dict())
        extractor.global_proj.requires_grad_(config.train_projection)
        self.extractor = extractor
        self.params = [p for p in extractor.parameters() if p.requires_grad] + self.attention.parameters()
        optimizer, scheduler = make_optimizer(config, self.params)
        self.transformer, self.tokens, self.optimizer, self.scheduler = self.accelerator.prepare(
            transformer, StyleTokensModule(extractor), optimizer, scheduler)

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        sample = self.dataset[self.indices[sample_index(micro, len(self.indices), self.config.seed)]]
        sample = sample.to(self.accelerator.device)
        drop_text = bool(torch.rand((), generator=generator) < self.config.text_dropout)
        drop_style = bool(torch.rand((), generator=generator) < self.config.style_dropout)
        shuffle_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        x0 = sample.target.float()
        sigma, eps = flow_matching_draw(x0, generator, self.config.flow_shift)
        dtype = next(self.transformer.parameters()).dtype
        kwargs = {}
        if not drop_style:
            tokens = self.tokens(sample.ref_pixels, sample.ref_ids, sample.ref_mask, shuffle_seed)  # fresh shuffle
            kwargs[STYLE_TOKENS_KEY] = tokens.to(dtype)
        text = self.null_text.to(x0.device) if drop_text else sample.text
        pred = self.transformer(hidden_states=((1 - sigma) * x0 + sigma * eps).to(dtype),
                                timestep=torch.full((1,), sigma * 1000, device=x0.device),
                                encoder_hidden_states=text.to(dtype), attention_kwargs=kwargs or None,
                                return_dict=False)[0]
        loss = F.mse_loss(pred.float(), eps - x0)
        if not loss.requires_grad:  # style dropped: nothing trainable took part; every rank still steps
            loss = loss + sum(0.0 * p.sum() for p in self.params)
        return loss

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {f"extractor.{k}": v.detach() for k, v in self.extractor.trainable_state_dict().items()}
        return state | {f"attention.{k}": v.detach() for k, v in self.attention.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        targets = {f"extractor.{k}": v for k, v in self.extractor.trainable_state_dict().items()}
        load_strict(targets | {f"attention.{k}": v for k, v in self.attention.state_dict().items()}, state)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        run_loop(self.config, self.accelerator, self.transformer, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name=f"style-{self.config.stage}")
        export = Path(self.config.output_dir) / "stylemaster"
        if self.accelerator.is_main_process:
            self.extractor.save_pretrained(export / "style_extractor")
            self.attention.save(export / "style_attention")
        self.accelerator.end_training()
        return export
