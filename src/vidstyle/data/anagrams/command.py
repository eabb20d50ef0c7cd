"""The work of `vidstyle data anagrams`: check every input cheaply, load the model, build, report.

Every user error raises :class:`VidstyleInputError` before the output folder is created or changed.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidstyle.backbones.loading import parse_device, parse_dtype
from vidstyle.data.anagrams.builder import AnagramBuilder, AnagramSettings, check_output_folder
from vidstyle.data.anagrams.inputs import CONTENT_TEMPLATE, read_lines, slugify
from vidstyle.data.anagrams.stage1 import DEFAULT_MODEL, PRESETS, check_model_source, load_stage1
from vidstyle.data.anagrams.views import parse_views
from vidstyle.errors import VidstyleInputError


def _model_identity(model: str | None, preset: str | None) -> str:
    """What the settings file records as the model (a resolved directory, a hub id, or ``preset:tiny``)."""
    if model is not None and preset is not None:
        raise VidstyleInputError("give either --model or --preset, not both")
    if preset is not None:
        if preset not in PRESETS:
            raise VidstyleInputError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
        return f"preset:{preset}"
    return check_model_source(model or DEFAULT_MODEL)


def run_anagrams(styles_file: Path, objects_file: Path, output: Path, model: str | None, preset: str | None,
                 views_spec: str, pairs: int, steps: int, guidance: float, size: int, seed: int, device: str,
                 dtype: str, quiet: bool, console: Console | None = None) -> Path:
    """Build (or continue) the anagram dataset ``output``; returns its folder."""
    console = console or Console(stderr=True)
    styles, objects = read_lines(styles_file, "styles"), read_lines(objects_file, "objects")
    if len(styles) < 2:
        raise VidstyleInputError(f"styles file {styles_file} has {len(styles)} style; the projection trainer needs "
                                 "at least two (its negatives come from other styles)")
    if "photo" in {slugify(s) for s in styles}:
        raise VidstyleInputError(f"style 'photo' is the style of the content images ({CONTENT_TEMPLATE!r}); "
                                 "leave it out of the styles file")
    views = parse_views(views_spec, seed=seed, size=(size, size))
    if len(views) < 2:
        raise VidstyleInputError("an anagram needs at least two views, e.g. --views identity,flip")
    if len(objects) < len(views):
        raise VidstyleInputError(f"{len(views)} views need at least {len(views)} different objects; objects file "
                                 f"{objects_file} has {len(objects)}")
    torch_device, torch_dtype = parse_device(device), parse_dtype(dtype)
    settings = AnagramSettings(styles=styles, objects=objects, views=[v.spec for v in views],
                               model=_model_identity(model, preset), steps=steps, guidance=guidance, size=size,
                               seed=seed, content_template=CONTENT_TEMPLATE)
    resuming = check_output_folder(output, settings)
    stage1 = load_stage1(model, preset, device=torch_device, dtype=torch_dtype, seed=seed)
    builder = AnagramBuilder(stage1, views, settings, output)  # checks the size against the model
    if stage1.random_weights:
        console.print(f"[yellow]preset {preset}: the weights are random, so the images are noise-like "
                      "(for demos and tests only)[/]", soft_wrap=True)
    with _progress(console, quiet) as progress:
        task = progress.add_task("anagrams", total=pairs)
        builder.on_step = lambda what, i, n: progress.update(task, description=f"{what} (step {i}/{n})")
        report = builder.run(pairs, on_pair=lambda index: progress.update(task, completed=index + 1))
    if not quiet:
        resumed = " (resumed)" if resuming else ""
        console.print(f"{output}: {report.made} pair(s) made, {report.skipped} already there{resumed}; "
                      f"{report.records} records, {len(report.styles)} style(s)", soft_wrap=True)
    if len(report.styles) < 2:
        console.print("[yellow]the folder has one style so far; the projection trainer needs two: "
                      "ask for more --pairs[/]", soft_wrap=True)
    return Path(output)


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=quiet)
