"""Named Wan backbones: the released Wan2.1 checkpoints, the offline ``tiny`` stand-ins and the trained
``toyworld`` models that ship inside the package.

A preset names where the weights live (hub id) and the defaults a user expects for it: working
resolution, frames per segment and the flow-matching shift. The transformer configs are those of
the released diffusers checkpoints, so full-size models can be built on the ``meta`` device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vidstyle.errors import VidstyleInputError

_I2V_14B = {
    "image_dim": 1280, "added_kv_proj_dim": 5120, "attention_head_dim": 128, "cross_attn_norm": True,
    "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256, "in_channels": 36, "num_attention_heads": 40,
    "num_layers": 40, "out_channels": 16, "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
}
_T2V_1_3B = {
    "added_kv_proj_dim": None, "attention_head_dim": 128, "cross_attn_norm": True, "eps": 1e-06,
    "ffn_dim": 8960, "freq_dim": 256, "in_channels": 16, "num_attention_heads": 12, "num_layers": 30,
    "out_channels": 16, "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads", "text_dim": 4096,
}
_T2V_14B = {**_T2V_1_3B, "ffn_dim": 13824, "num_attention_heads": 40, "num_layers": 40}


@dataclass(frozen=True)
class Preset:
    """A named backbone.

    ``kind`` is ``"i2v"`` (36 input channels, CLIP image branch) or ``"t2v"`` (16 channels).
    ``hub_id`` is None for presets that are built in-process: ``tiny`` (random), or ``shipped`` ones built
    from the trained toy-world weights inside the package (``backbones/shipped.py``).
    """

    name: str
    kind: Literal["i2v", "t2v"]
    hub_id: str | None
    height: int
    width: int
    segment_frames: int
    flow_shift: float
    transformer_config: dict[str, Any] = field(default_factory=dict)
    shipped: bool = False


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("wan2.1-i2v-14b-480p", "i2v", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", 480, 832, 81, 3.0, _I2V_14B),
        Preset("wan2.1-i2v-14b-720p", "i2v", "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers", 720, 1280, 81, 5.0, _I2V_14B),
        Preset("wan2.1-t2v-1.3b", "t2v", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 480, 832, 81, 3.0, _T2V_1_3B),
        Preset("wan2.1-t2v-14b", "t2v", "Wan-AI/Wan2.1-T2V-14B-Diffusers", 720, 1280, 81, 5.0, _T2V_14B),
        Preset("tiny", "i2v", None, 64, 64, 17, 3.0),
        Preset("tiny-t2v", "t2v", None, 64, 64, 17, 3.0),
        Preset("toyworld", "i2v", None, 64, 64, 9, 3.0, shipped=True),
        Preset("toyworld-t2v", "t2v", None, 64, 64, 9, 3.0, shipped=True),
    ]
}
DEFAULT_PRESET = "wan2.1-i2v-14b-480p"


def get_preset(name: str) -> Preset:
    """Look a preset up by name; unknown names are a user error listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise VidstyleInputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def defaults_for(preset: str | None, model: str | None, default: str = DEFAULT_PRESET) -> Preset:
    """The preset whose defaults (resolution, segment length) apply: the named one, the one whose hub id
    ``model`` is, else ``default`` (any other ``model`` is taken to be of the default's kind)."""
    if model is None:
        return get_preset(preset or default)
    matches = [p for p in PRESETS.values() if p.hub_id == str(model)]
    return matches[0] if matches else PRESETS[default]
