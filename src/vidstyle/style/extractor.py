"""StyleMaster style tokens from a reference image: local (text-dissimilar patches) and global (content-shuffled).

Local branch: the CLIP vision patch tokens (CLS excluded) are scored against the prompt's CLIP text
embedding in CLIP's joint space and the ``num_patches`` patches LEAST similar to the prompt (the content
description) are kept; their post-LayerNorm hidden features go through a Q-Former and a linear to the DiT
width. Global branch: the image's tiles are shuffled (destroying layout and content, keeping texture and
colour), the CLIP image embedding of the shuffled image goes through an MLP to ``num_global_tokens`` tokens.
CLIP is frozen; only the Q-Former, the local output linear and the global MLP train.

``local_patches`` selects the paper's ablations: ``least_similar`` (default, above), ``all`` (every patch goes
to the Q-Former; the prompt is ignored) and ``none`` (no local tokens: only the global ones).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import CLIPModel

from vidstyle.adapters.serialization import load_strict, read_part, save_part
from vidstyle.errors import VidstyleInputError
from vidstyle.style.clip import load_clip_model
from vidstyle.style.qformer import QFormer

FORMAT = "vidstyle.style_extractor"
NAME = "style_extractor"
TRAINABLE_MODULES = ("qformer", "local_out", "global_proj")
LOCAL_PATCHES = ("least_similar", "all", "none")


@dataclass
class StyleExtractorConfig:
    """Hyper-parameters of :class:`StyleExtractor`; ``dataclasses.asdict`` of it is its JSON form."""

    clip_model: str = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"  # hub id or local dir of a transformers CLIPModel
    out_dim: int = 1536  # DiT hidden width the tokens are made for: 1536 Wan 1.3B, 5120 Wan 14B
    num_patches: int = 15  # k: patches kept by the local branch
    qformer_queries: int = 16
    qformer_layers: int = 2
    qformer_width: int | None = None  # None -> the CLIP vision hidden size
    qformer_heads: int = 8
    num_global_tokens: int = 4
    projection_hidden: int = 1024
    shuffle_patches: int = 4  # the content shuffle permutes a shuffle_patches x shuffle_patches grid of tiles
    seed: int = 0  # seeds the shuffle permutation and the initialisation of the trainable parts
    local_patches: str = "least_similar"  # local branch input: least_similar (k patches) | all | none

    def __post_init__(self) -> None:
        for name in ("out_dim", "num_patches", "qformer_queries", "qformer_layers", "qformer_heads",
                     "num_global_tokens", "projection_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise VidstyleInputError(f"style extractor {name} must be a positive integer, got {value!r}")
        if self.qformer_width is not None and (not isinstance(self.qformer_width, int) or self.qformer_width < 1):
            raise VidstyleInputError(f"style extractor qformer_width must be a positive integer or null, "
                                     f"got {self.qformer_width!r}")
        if not isinstance(self.shuffle_patches, int) or self.shuffle_patches < 2:
            raise VidstyleInputError(f"style extractor shuffle_patches must be an integer >= 2, "
                                     f"got {self.shuffle_patches!r}")
        if not isinstance(self.seed, int) or not isinstance(self.clip_model, str):
            raise VidstyleInputError("style extractor seed must be an integer and clip_model a string")
        if self.local_patches not in LOCAL_PATCHES:
            raise VidstyleInputError(f"style extractor local_patches must be one of {', '.join(LOCAL_PATCHES)}, "
                                     f"got {self.local_patches!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> StyleExtractorConfig:
        """Build from a parsed JSON object; unknown keys or bad values raise ``VidstyleInputError``."""
        if not isinstance(data, dict):
            raise VidstyleInputError("style extractor config must be a JSON object")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise VidstyleInputError(f"unknown style extractor config keys: {', '.join(unknown)}")
        return cls(**data)


@dataclass
class StyleTokens:
    """Output of :meth:`StyleExtractor.forward`.

    ``tokens`` [B, Q + G, out_dim] is ``local`` [B, Q, out_dim] followed by ``global_`` [B, G, out_dim];
    ``selected_indices`` [B, k] are the kept patch indices (0-based over patches, CLS excluded),
    least similar to the prompt first. With ``local_patches="all"`` k = N and the indices are ``0..N-1``;
    with ``"none"`` Q = k = 0 (``local`` [B, 0, out_dim], ``tokens`` = ``global_``).
    """

    tokens: torch.Tensor
    local: torch.Tensor
    global_: torch.Tensor
    selected_indices: torch.Tensor


def select_least_similar(patch_embeds: torch.Tensor, text_embed: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` patches with the lowest cosine similarity to the text, ascending similarity.

    ``patch_embeds`` [B, N, D], ``text_embed`` [B, D] -> long indices [B, k] into N.
    """
    if patch_embeds.dim() != 3 or text_embed.dim() != 2 or patch_embeds.shape[::2] != text_embed.shape:
        raise ValueError(f"expected patch_embeds [B, N, D] and text_embed [B, D], got "
                         f"{tuple(patch_embeds.shape)} and {tuple(text_embed.shape)}")
    if not 1 <= k <= patch_embeds.shape[1]:
        raise ValueError(f"cannot select {k} of {patch_embeds.shape[1]} patches")
    sim = torch.cosine_similarity(patch_embeds.float(), text_embed.float().unsqueeze(1), dim=-1)  # [B, N]
    return torch.topk(sim, k, dim=1, largest=False, sorted=True).indices


def shuffle_permutation(num_tiles: int, seed: int) -> torch.Tensor:
    """A non-identity permutation [num_tiles] of tile indices, a pure function of ``seed`` (CPU generator)."""
    if num_tiles < 2:
        raise ValueError("a content shuffle needs at least 2 tiles")
    generator = torch.Generator().manual_seed(seed)
    identity = torch.arange(num_tiles)
    while True:
        perm = torch.randperm(num_tiles, generator=generator)
        if not torch.equal(perm, identity):
            return perm


def shuffle_content(pixel_values: torch.Tensor, seed: int, grid: int = 4) -> torch.Tensor:
    """Cut each image into a ``grid x grid`` grid of tiles and permute the tiles (same permutation for the batch).

    ``pixel_values`` [B, C, H, W] with H and W divisible by ``grid`` -> [B, C, H, W]. Tile ``i`` (row-major) of
    the output is tile ``perm[i]`` of the input, ``perm = shuffle_permutation(grid**2, seed)``.
    """
    b, c, h, w = pixel_values.shape
    if h % grid or w % grid:
        raise ValueError(f"image size {h}x{w} is not divisible by the {grid}x{grid} shuffle grid")
    th, tw = h // grid, w // grid
    tiles = pixel_values.reshape(b, c, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5).reshape(b, grid * grid, c, th, tw)
    perm = shuffle_permutation(grid * grid, seed).to(pixel_values.device)
    tiles = tiles[:, perm].reshape(b, grid, grid, c, th, tw)
    return tiles.permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


class StyleExtractor(nn.Module):
    """Frozen ``CLIPModel`` + trainable Q-Former (local) and MLP (global) producing DiT style tokens.

    ``clip_model`` is put in eval mode and frozen in place. The trainable parts are initialised from
    ``config.seed`` (the global RNG is left untouched) in the default dtype on the CLIP's device.
    """

    def __init__(self, config: StyleExtractorConfig, clip_model: CLIPModel) -> None:
        super().__init__()
        self.config = config
        self.clip = clip_model.eval().requires_grad_(False)
        vision = clip_model.config.vision_config
        num_patches = (vision.image_size // vision.patch_size) ** 2
        if config.num_patches > num_patches:
            raise VidstyleInputError(f"num_patches {config.num_patches} exceeds the {num_patches} CLIP patches")
        hidden, proj_dim = vision.hidden_size, clip_model.config.projection_dim
        width = config.qformer_width or hidden
        if width % config.qformer_heads:
            raise VidstyleInputError(f"qformer width {width} is not divisible by {config.qformer_heads} heads")
        device = next(clip_model.parameters()).device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.qformer = QFormer(config.qformer_queries, width, hidden, config.qformer_heads, config.qformer_layers)
            self.local_out = nn.Linear(width, config.out_dim)
            self.global_proj = nn.Sequential(
                nn.Linear(proj_dim, config.projection_hidden), nn.GELU(),
                nn.Linear(config.projection_hidden, config.num_global_tokens * config.out_dim),
            )
        for name in TRAINABLE_MODULES:
            getattr(self, name).to(device)

    def train(self, mode: bool = True) -> StyleExtractor:
        """Train mode for the trainable parts only: CLIP stays in eval mode."""
        super().train(mode)
        self.clip.eval()
        return self

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights ``save_pretrained`` writes: Q-Former, local output linear, global MLP."""
        return {f"{name}.{key}": value for name in TRAINABLE_MODULES
                for key, value in getattr(self, name).state_dict().items()}

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for name in TRAINABLE_MODULES for p in getattr(self, name).parameters()]

    def _param_dtype(self) -> torch.dtype:
        return self.local_out.weight.dtype

    @torch.no_grad()
    def _clip_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Prompt embedding in CLIP's joint space [B, P]."""
        pooled = self.clip.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        return self.clip.text_projection(pooled)

    @torch.no_grad()
    def _clip_image(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch hidden states after post_layernorm [B, N, H] (CLS dropped) and CLS image embeds [B, P]."""
        out = self.clip.vision_model(pixel_values=pixel_values.to(self.clip.dtype))
        patches = self.clip.vision_model.post_layernorm(out.last_hidden_state[:, 1:])
        return patches, self.clip.visual_projection(out.pooler_output)

    def project_global(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """CLIP image embeds [B, P] -> global tokens [B, G, out_dim]."""
        out = self.global_proj(image_embeds.to(self._param_dtype()))
        return out.reshape(image_embeds.shape[0], self.config.num_global_tokens, self.config.out_dim)

    def encode_global(self, pixel_values: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Global tokens [B, G, out_dim] of the content-shuffled images ``pixel_values`` [B, 3, S, S]."""
        shuffled = shuffle_content(pixel_values, self.config.seed if seed is None else seed,
                                   self.config.shuffle_patches)
        return self.project_global(self._clip_image(shuffled)[1])

    def local_from_patches(self, patches: torch.Tensor, patch_embeds: torch.Tensor,
                           text_embed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden patches [B, N, H] and their joint-space embeds [B, N, P], text [B, P] -> local tokens
        [B, Q, out_dim] and the indices [B, k] of the patches used (see ``config.local_patches``)."""
        b, n = patches.shape[:2]
        mode = self.config.local_patches
        if mode == "none":
            empty = torch.zeros(b, 0, self.config.out_dim, dtype=self._param_dtype(), device=patches.device)
            return empty, torch.zeros(b, 0, dtype=torch.long, device=patches.device)
        if mode == "all":
            indices = torch.arange(n, device=patches.device).expand(b, n)
            return self.local_out(self.qformer(patches.to(self._param_dtype()))), indices
        indices = select_least_similar(patch_embeds, text_embed, self.config.num_patches)  # [B, k]
        selected = torch.gather(patches, 1, indices.unsqueeze(-1).expand(-1, -1, patches.shape[-1]))
        return self.local_out(self.qformer(selected.to(self._param_dtype()))), indices

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None, shuffle_seed: int | None = None) -> StyleTokens:
        """CLIP-normalised ``pixel_values`` [B, 3, S, S] and the tokenised prompts [B, T] -> :class:`StyleTokens`."""
        b = pixel_values.shape[0]
        seed = self.config.seed if shuffle_seed is None else shuffle_seed
        shuffled = shuffle_content(pixel_values, seed, self.config.shuffle_patches)
        patches, image_embeds = self._clip_image(torch.cat([pixel_values, shuffled]))  # one pass for both branches
        with torch.no_grad():
            patch_embeds = self.clip.visual_projection(patches[:b])
        text_embed = self._clip_text(input_ids, attention_mask)
        local, indices = self.local_from_patches(patches[:b], patch_embeds, text_embed)
        global_ = self.project_global(image_embeds[b:])
        return StyleTokens(torch.cat([local, global_], dim=1), local, global_, indices)

    def encode(self, images: list[Any], prompts: list[str], processor: Any, tokenizer: Any = None) -> StyleTokens:
        """PIL ``images`` and their content ``prompts`` -> :class:`StyleTokens`.

        ``processor`` is a ``CLIPProcessor`` (image processor + tokenizer) or a bare CLIP image processor,
        in which case ``tokenizer`` is required.
        """
        if len(images) != len(prompts):
            raise VidstyleInputError(f"got {len(images)} style images but {len(prompts)} prompts")
        image_processor = getattr(processor, "image_processor", processor)
        tokenizer = tokenizer if tokenizer is not None else getattr(processor, "tokenizer", None)
        if tokenizer is None:
            raise ValueError("encode needs a tokenizer: pass a CLIPProcessor or tokenizer=")
        device = next(self.clip.parameters()).device
        pixel_values = image_processor(images=images, return_tensors="pt")["pixel_values"].to(device)
        max_length = self.clip.config.text_config.max_position_embeddings
        text = tokenizer(list(prompts), padding="max_length", max_length=max_length, truncation=True,
                         return_tensors="pt")
        return self(pixel_values, text["input_ids"].to(device), text["attention_mask"].to(device))

    def save_pretrained(self, directory: str | os.PathLike[str]) -> None:
        """Write the config (``style_extractor.json``) and trainable weights (``style_extractor.safetensors``)."""
        save_part(directory, NAME, FORMAT, self.trainable_state_dict(), self.config.to_dict())

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], clip_model: CLIPModel | None = None) -> StyleExtractor:
        """Load a saved extractor; the CLIP comes from ``config.clip_model`` unless ``clip_model`` is passed.

        Missing or unreadable files, and weights whose keys or shapes do not match, raise ``VidstyleInputError``.
        """
        weights, raw = read_part(directory, NAME, FORMAT)
        config = StyleExtractorConfig.from_dict(raw)
        if clip_model is None:
            clip_model = load_clip_model(config.clip_model)
        extractor = cls(config, clip_model)
        try:
            load_strict(extractor.trainable_state_dict(), weights)
        except ValueError as err:
            raise VidstyleInputError(f"{directory} does not match its config: {err}") from None
        return extractor



