"""DreamStyle's data recipe as pluggable stages: caption, stylize the first frame, propagate it, filter.

``run_curate(CurateOptions(...))`` is `vidstyle data curate`; :class:`Curator` runs the stages of each sample with
resume and sharding; the stage protocols (:class:`Captioner`, :class:`Stylizer`, :class:`Propagator`) let other
models plug in. See ``docs/curation.md``.
"""

from __future__ import annotations

from vidstyle.data.curation.captioners import TemplateCaptioner, VLMCaptioner, template_caption
from vidstyle.data.curation.command import load_stages, run_curate, summary
from vidstyle.data.curation.curator import Curator, RunReport
from vidstyle.data.curation.filters import Filters, Thresholds, content_consistency, mean_motion, motion_ratio
from vidstyle.data.curation.layout import Layout
from vidstyle.data.curation.options import CurateOptions
from vidstyle.data.curation.plan import (
    PlannedSample,
    RawVideo,
    assign_styles,
    list_raw_videos,
    parse_shard,
    plan_samples,
    shard_samples,
)
from vidstyle.data.curation.propagators import ToyPropagator, WanPropagator
from vidstyle.data.curation.stages import Captioner, Propagator, StageInput, Stages, Stylizer
from vidstyle.data.curation.styles import StyleSpec, read_styles
from vidstyle.data.curation.stylizers import InstantStyleStylizer, ToyStylizer

__all__ = [
    "Captioner", "CurateOptions", "Curator", "Filters", "InstantStyleStylizer", "Layout", "PlannedSample",
    "Propagator", "RawVideo", "RunReport", "StageInput", "Stages", "StyleSpec", "Stylizer", "TemplateCaptioner",
    "Thresholds", "ToyPropagator", "ToyStylizer", "VLMCaptioner", "WanPropagator", "assign_styles",
    "content_consistency", "list_raw_videos", "load_stages", "mean_motion", "motion_ratio", "parse_shard",
    "plan_samples", "read_styles", "run_curate", "shard_samples", "summary", "template_caption",
]
