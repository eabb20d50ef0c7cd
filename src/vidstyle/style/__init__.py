"""StyleMaster style tokens: a frozen CLIP with a local (Q-Former) and a global (content-shuffled) branch."""

from vidstyle.style.extractor import (
    StyleExtractor,
    StyleExtractorConfig,
    StyleTokens,
    select_least_similar,
    shuffle_content,
    shuffle_permutation,
)
from vidstyle.style.qformer import QFormer
from vidstyle.style.tiny import build_tiny_clip
from vidstyle.style.triplet import global_style_embedding, triplet_style_loss

__all__ = [
    "QFormer",
    "StyleExtractor",
    "StyleExtractorConfig",
    "StyleTokens",
    "build_tiny_clip",
    "global_style_embedding",
    "select_least_similar",
    "shuffle_content",
    "shuffle_permutation",
    "triplet_style_loss",
]
