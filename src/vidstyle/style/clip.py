"""Load the CLIP towers, tokenizer and image processor StyleMaster's extractor runs on.

``"tiny"`` builds the offline random stand-in; anything else is a hub id or a local directory.
Failures are one-line :class:`VidstyleInputError`.
"""

from __future__ import annotations

from typing import Any

from vidstyle.errors import VidstyleInputError
from vidstyle.style.tiny import build_tiny_clip

TINY_CLIP = "tiny"


def load_clip_model(clip_id: str) -> Any:
    """A transformers ``CLIPModel`` (vision and text towers)."""
    if clip_id == TINY_CLIP:
        return build_tiny_clip()[0]
    from transformers import CLIPModel

    return _load(clip_id, CLIPModel.from_pretrained)


def load_clip_preprocessors(clip_id: str) -> tuple[Any, Any]:
    """``(tokenizer, image processor)`` for the CLIP at ``clip_id``."""
    if clip_id == TINY_CLIP:
        return build_tiny_clip()[1:]
    from transformers import AutoTokenizer, CLIPImageProcessorPil

    return _load(clip_id, AutoTokenizer.from_pretrained), _load(clip_id, CLIPImageProcessorPil.from_pretrained)


def _load(clip_id: str, loader) -> Any:
    try:
        return loader(clip_id)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise VidstyleInputError(f"cannot load CLIP {clip_id!r}: {first}") from None
