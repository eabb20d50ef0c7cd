"""Wan backbones: presets (released checkpoints and offline tiny stand-ins) and loading."""

from vidstyle.backbones.loading import load_pipeline, parse_device, parse_dtype
from vidstyle.backbones.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from vidstyle.backbones.tiny import build_tiny_components

__all__ = [
    "DEFAULT_PRESET", "PRESETS", "Preset", "build_tiny_components", "get_preset", "load_pipeline",
    "parse_device", "parse_dtype",
]
