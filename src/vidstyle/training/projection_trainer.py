"""`vidstyle train projection`: StyleMaster's global style projection, trained with the triplet loss.

Triplets come from a dataset manifest. Anchor and positive are images of the same ``style_id`` from
*different* records (same style, different content): style references and the stylized first frame.
The negative is the anchor record's raw first frame (same content, no style) or an image of another
style, half and half. Only the projection MLP trains; CLIP is frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from accelerate.utils import set_seed

from vidstyle.adapters.serialization import load_strict
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample
from vidstyle.errors import VidstyleInputError
from vidstyle.style import StyleExtractor, StyleExtractorConfig, global_style_embedding, triplet_style_loss
from vidstyle.style.clip import load_clip_model, load_clip_preprocessors
from vidstyle.training.config import ProjectionTrainConfig
from vidstyle.training.loop import make_accelerator, make_optimizer, run_loop

IMAGE_SIZE = 224


class TripletSource:
    """Images of a dataset grouped by style: ``styled[style][record] = [images]``, ``raw[record] = image``."""

    def __init__(self, folder: Path, size: int = IMAGE_SIZE) -> None:
        report = read_manifest(folder, on_error="skip")
        self.styled: dict[str, dict[str, list[PIL.Image.Image]]] = {}
        self.raw: dict[str, PIL.Image.Image] = {}
        for record in report.records:
            sample = load_sample(folder, record, size, size, max_frames=1)
            images = list(sample.refs) + ([PIL.Image.fromarray(sample.stylized[0])] if sample.stylized is not None
                                          else [])
            if images:
                self.styled.setdefault(record.style_id, {})[record.id] = images
            self.raw[record.id] = PIL.Image.fromarray(sample.raw[0])
        self.anchor_styles = sorted(s for s, records in self.styled.items() if len(records) >= 2)
        if len(self.styled) < 2 or not self.anchor_styles:
            raise VidstyleInputError(f"{folder}: the projection trainer needs at least two style ids and a style "
                                     "with images from two records")

    def triplet(self, generator: torch.Generator) -> tuple[PIL.Image.Image, PIL.Image.Image, PIL.Image.Image]:
        """One ``(anchor, positive, negative)``, every choice drawn from ``generator``."""
        def pick(items):
            return items[int(torch.randint(len(items), (1,), generator=generator))]

        style = pick(self.anchor_styles)
        records = sorted(self.styled[style])
        anchor_record = pick(records)
        positive_record = pick([r for r in records if r != anchor_record])
        if torch.rand((), generator=generator) < 0.5:
            negative = self.raw[anchor_record]
        else:
            other = pick(sorted(s for s in self.styled if s != style))
            negative = pick(self.styled[other][pick(sorted(self.styled[other]))])
        return pick(self.styled[style][anchor_record]), pick(self.styled[style][positive_record]), negative


class GlobalBranch(torch.nn.Module):
    """The extractor's global branch as a module of its own, so DDP sees (and syncs) the forward."""

    def __init__(self, extractor: StyleExtractor) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, pixel_values: torch.Tensor, seed: int) -> torch.Tensor:
        """``[B, 3, S, S]`` CLIP-normalised -> ``[B, G * out_dim]``."""
        return global_style_embedding(self.extractor, pixel_values, seed=seed)


class ProjectionTrainer:
    """Trains ``StyleExtractor.global_proj``; exports ``OUTPUT/style_extractor`` (the pipelines' format)."""

    def __init__(self, config: ProjectionTrainConfig) -> None:
        self.config = config
        self.source = TripletSource(config.dataset)
        self.accelerator = make_accelerator(config)
        set_seed(config.seed)
        if config.init_extractor is not None:
            extractor = StyleExtractor.from_pretrained(config.init_extractor)
        else:
            options = {"clip_model": config.clip_model, "out_dim": config.out_dim,
                       "num_global_tokens": config.num_global_tokens, "projection_hidden": config.projection_hidden,
                       "seed": config.seed, **config.extractor_options}
            try:
                extractor_config = StyleExtractorConfig(**options)
            except TypeError as err:
                raise VidstyleInputError(f"extractor_options: {err}") from None
            extractor = StyleExtractor(extractor_config, load_clip_model(config.clip_model))
        _, self.processor = load_clip_preprocessors(extractor.config.clip_model)
        extractor.requires_grad_(False)
        params = list(extractor.global_proj.parameters())
        self.extractor = extractor
        optimizer, scheduler = make_optimizer(config, params)
        self.model, self.optimizer, self.scheduler = self.accelerator.prepare(GlobalBranch(extractor), optimizer,
                                                                              scheduler)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"global_proj.{k}": v for k, v in self.extractor.global_proj.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_strict(self.state_dict(), state)

    def micro_loss(self, micro: int, generator: torch.Generator) -> torch.Tensor:
        triplets = [self.source.triplet(generator) for _ in range(self.config.triplets_per_step)]
        pixels = [self._pixels([t[i] for t in triplets]) for i in range(3)]
        shuffle_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        anchor, positive, negative = (self.model(p, shuffle_seed) for p in pixels)
        return triplet_style_loss(anchor, positive, negative, margin=self.config.margin)

    def _pixels(self, images: list[PIL.Image.Image]) -> torch.Tensor:
        values = self.processor(images=[np.asarray(im.convert("RGB")) for im in images], return_tensors="pt")
        return values["pixel_values"].to(self.accelerator.device)

    def train(self, resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> Path:
        run_loop(self.config, self.accelerator, self.model, self.optimizer, self.scheduler, self.micro_loss,
                 self.state_dict, self.load_state_dict, resume, on_step, name="projection")
        export = Path(self.config.output_dir) / "style_extractor"
        if self.accelerator.is_main_process:
            self.extractor.save_pretrained(export)
        self.accelerator.end_training()
        return export
