"""Diffusers pipelines of vidstyle."""

from vidstyle.pipelines.dreamstyle import MODES, DreamStylePipeline, dreamstyle_mode

__all__ = ["MODES", "DreamStylePipeline", "dreamstyle_mode"]
