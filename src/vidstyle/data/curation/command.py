"""The work of `vidstyle data curate`: check every input cheaply, load the stage models, curate, report.

Every user error raises :class:`VidstyleInputError` before the output folder is created or changed.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidstyle.backbones.loading import parse_device, parse_dtype
from vidstyle.data.curation import options as opts
from vidstyle.data.curation.curator import Curator, RunReport
from vidstyle.data.curation.filters import Filters
from vidstyle.data.curation.layout import Layout
from vidstyle.data.curation.options import CurateOptions
from vidstyle.data.curation.plan import list_raw_videos, parse_shard, plan_samples, shard_samples
from vidstyle.data.curation.refs import prepare_references
from vidstyle.data.curation.settings import CurationSettings, check_output_folder, claim_output_folder
from vidstyle.data.curation.sources import check_source, file_sha256
from vidstyle.data.curation.stages import Stages
from vidstyle.data.curation.styles import StyleSpec, read_styles
from vidstyle.data.toy import STYLES
from vidstyle.errors import VidstyleInputError


def _check_styles(styles: list[StyleSpec], o: CurateOptions) -> None:
    toy = [name for name, used in (("--stylizer toy", o.stylizer == "toy"), ("--propagator toy",
                                                                             o.propagator == "toy")) if used]
    for style in styles:
        if toy and style.id not in STYLES:
            need = f"{' and '.join(toy)} {'need' if len(toy) > 1 else 'needs'}"
            raise VidstyleInputError(f"{o.styles}: style {style.id!r} is not a toy style, which {need} "
                                     f"(known: {', '.join(STYLES)})")
        if not style.refs and o.stylizer != "toy":
            raise VidstyleInputError(f"{o.styles}: style {style.id!r} has no refs; the stylizer and the style filter "
                                     "need reference images (only --stylizer toy draws its own)")


def _identities(o: CurateOptions, preset) -> dict[str, str]:
    captioner = opts.captioner_source(o)
    stylizer, adapter = opts.stylizer_source(o)
    if adapter is not None:
        stylizer = f"{stylizer}+ip-adapter:{adapter.identity}"
    if o.propagator == "toy":
        propagator = "toy"
    else:
        propagator = "wan:" + (check_source(o.model, "--model", "model_index.json") if o.model else preset.name)
    return {"captioner": captioner, "stylizer": stylizer, "propagator": propagator}


def load_stages(o: CurateOptions, device, dtype) -> Stages:
    """The model stages named by the options (the slow part: weights are read here)."""
    from vidstyle.data.curation.captioners import TemplateCaptioner, VLMCaptioner
    from vidstyle.data.curation.propagators import ToyPropagator, WanPropagator
    from vidstyle.data.curation.stylizers import InstantStyleStylizer, ToyStylizer

    captioner = TemplateCaptioner() if o.captioner == "template" else VLMCaptioner.load(
        opts.captioner_source(o), device, dtype)
    source, adapter = opts.stylizer_source(o)
    stylizer = ToyStylizer() if adapter is None else InstantStyleStylizer.load(
        source, adapter, device, dtype, steps=o.steps, strength=o.strength)
    propagator = ToyPropagator() if o.propagator == "toy" else WanPropagator.load(
        o.preset, o.model, device, dtype, steps=o.steps)
    return Stages(captioner=captioner, stylizer=stylizer, propagator=propagator)


def _load_csd(path: Path | None, device):
    if path is None:
        return None
    from vidstyle.metrics.csd import CSDStyleEncoder

    return CSDStyleEncoder.from_file(path, device=device)


def run_curate(o: CurateOptions, console: Console | None = None, stages: Stages | None = None) -> RunReport:
    """Curate (or continue curating) ``o.output``; ``stages`` replaces the models the options name (their
    ``identity`` is recorded instead)."""
    console = console or Console(stderr=True)
    shard = parse_shard(o.shard)
    thresholds = opts.thresholds(o)
    preset = opts.wan_preset(o)
    frames = opts.frame_limit(o, preset)
    size_of = opts.size_rule(o, preset)
    if o.steps < 1:
        raise VidstyleInputError(f"--steps must be at least 1, got {o.steps}")
    if o.csd is not None and not Path(o.csd).is_file():
        raise VidstyleInputError(f"CSD weights not found: {o.csd}")
    device, dtype = parse_device(o.device), parse_dtype(o.dtype)
    videos, styles = list_raw_videos(o.raw), read_styles(o.styles)
    _check_styles(styles, o)
    plan = plan_samples(videos, styles, o.styles_per_video, o.seed)
    identities = _identities(o, preset)
    if stages is not None:
        identities = {name: getattr(stages, name).identity for name in identities}
    settings = CurationSettings(
        raw_videos=[[v.path.name, v.path.stat().st_size] for v in videos], styles=[s.fingerprint() for s in styles],
        **identities, csd=file_sha256(Path(o.csd)) if o.csd else None, min_style=thresholds.min_style,
        min_content=thresholds.min_content, motion_range=list(thresholds.motion_range),
        styles_per_video=o.styles_per_video, frames=frames, height=o.height, width=o.width, steps=o.steps,
        strength=None if o.stylizer == "toy" else o.strength, seed=o.seed, dtype=str(dtype).removeprefix("torch."),
        toy_ref_size=opts.toy_ref_size(o) if any(not s.refs for s in styles) else None,
    )
    layout = Layout(Path(o.output))
    check_output_folder(layout.root, settings)  # before loading anything: a wrong folder fails fast
    stages = stages or load_stages(o, device, dtype)
    filters = Filters(thresholds, _load_csd(o.csd, device))
    claim_output_folder(layout, settings)
    refs = {s.id: prepare_references(layout, s, settings.toy_ref_size, o.seed) for s in styles}
    mine = shard_samples(plan, shard)
    with _progress(console, o.quiet) as progress:
        task = progress.add_task("curating", total=len(mine))
        curator = Curator(layout, plan, stages, filters, refs, frames, size_of,
                          on_stage=lambda s, stage: progress.update(task, description=f"{s.id}: {stage}"))
        report = curator.run(mine, on_sample=lambda _: progress.advance(task))
    return report


def summary(o: CurateOptions, report: RunReport) -> str:
    """One line for the end of a run."""
    text = (f"{o.output}: {report.accepted} accepted, {report.rejected} rejected of {report.planned} planned "
            f"(this run: {report.made} made, {report.skipped} already done)")
    return "; ".join([text, *report.filters_skipped])


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=quiet)
