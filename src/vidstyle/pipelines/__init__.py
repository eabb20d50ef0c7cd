"""Diffusers pipelines of vidstyle."""

from vidstyle.pipelines.dreamstyle import MODES, DreamStylePipeline, dreamstyle_mode
from vidstyle.pipelines.stylemaster import StyleMasterPipeline

__all__ = ["MODES", "DreamStylePipeline", "StyleMasterPipeline", "dreamstyle_mode"]
