"""`vidstyle demo`: stylize a held-out toy clip in every mode, fully offline.

By default on the trained toy-world models that ship inside the package (presets ``toyworld`` and
``toyworld-t2v``, with their DreamStyle adapter and StyleMaster weights) and with the benchmark's sampling
settings (``SAMPLING``); ``--preset tiny`` runs the same modes on random weights. The clip is rendered
in-process by the toy world generator: a scene seed of the held-out eval range (a scene no model saw) in a
style seen in training, the benchmark's "held-out content" case.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from rich.console import Console

from vidstyle.backbones.shipped import read_manifest
from vidstyle.cli.demo_sheet import contact_sheet
from vidstyle.cli.generate import GenerateOptions, generate
from vidstyle.cli.stylize import StylizeOptions, stylize
from vidstyle.data.toy import HELDOUT_SEED_START, ToySample, get_style, make_toy_sample
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import read_video, write_video

# --preset -> (DreamStyle backbone, StyleMaster backbone)
DEMO_PRESETS = {"toyworld": ("toyworld", "toyworld-t2v"), "tiny": ("tiny", "tiny-t2v")}
WORLD_SEED, SIZE, FRAMES, FPS = 0, 64, 9, 8  # the benchmark's toy world, its first held-out scene seed
STYLE = "thermal"  # a training style (the held-out styles are reported apart in the benchmark)
# text guidance per method on the toyworld preset, as in `vidstyle bench toyworld` (its README section)
SAMPLING = {"dreamstyle": 4.0, "stylemaster": 1.0}


def demo_sample() -> ToySample:
    """The demo's clip: held-out scene seed, a training style, one style reference on other content."""
    return make_toy_sample(WORLD_SEED, HELDOUT_SEED_START, STYLE, SIZE, FRAMES, refs=1)


def write_inputs(sample: ToySample, output_dir: Path) -> dict[str, Path]:
    """The input clip, the style reference and the ground-truth stylized first frame, as files."""
    paths = {"input": output_dir / "input.mp4", "style": output_dir / "style.png",
             "first_frame": output_dir / "first_frame_stylized.png"}
    write_video(sample.raw, paths["input"], FPS)
    Image.fromarray(sample.refs[0]).save(paths["style"])
    Image.fromarray(sample.stylized[0]).save(paths["first_frame"])
    return paths


def mode_options(sample: ToySample, inputs: dict[str, Path]) -> dict[str, dict]:
    """Per output name, the method and its conditions (DreamStyle's four modes, StyleMaster's two tasks)."""
    content, style = sample.t_ns, [inputs["style"]]
    return {
        "dreamstyle_text": dict(method="dreamstyle", prompt=sample.t_sty),
        "dreamstyle_style_image": dict(method="dreamstyle", prompt=content, style_images=style),
        "dreamstyle_first_frame": dict(method="dreamstyle", prompt=content, first_frame=inputs["first_frame"]),
        "dreamstyle_fused": dict(method="dreamstyle", prompt=content, style_images=style,
                                 style_prompt=get_style(STYLE).description),
        "stylemaster_transfer": dict(method="stylemaster", prompt=content, style_images=style),
        "stylemaster_generation": dict(method="stylemaster", prompt=content),
    }


def run_mode(name: str, options: dict, inputs: dict[str, Path], output: Path, presets: tuple[str, str],
             steps: int, quiet: bool, console: Console) -> Path:
    """One output clip through the product path (`vidstyle stylize`, or `vidstyle generate`)."""
    preset = presets[0] if options["method"] == "dreamstyle" else presets[1]
    guidance = {"guidance": SAMPLING[options["method"]]} if presets == DEMO_PRESETS["toyworld"] else {}
    if name == "stylemaster_generation":
        return generate(GenerateOptions(prompt=options["prompt"], style_image=inputs["style"], output=output,
                                        frames=FRAMES, fps=FPS, preset=preset, steps=steps, quiet=quiet, **guidance),
                        console)
    return stylize(StylizeOptions(input=inputs["input"], output=output, preset=preset, steps=steps, quiet=quiet,
                                  **options, **guidance), console)


def run_demo(output_dir: Path, steps: int = 20, quiet: bool = False, preset: str = "toyworld") -> list[Path]:
    """Write the inputs, one clip per mode and ``contact_sheet.png`` into ``output_dir``; print and return the
    written clips and the sheet."""
    if preset not in DEMO_PRESETS:
        raise VidstyleInputError(f"the demo runs on {' or '.join(DEMO_PRESETS)}, not {preset!r}")
    if preset == "toyworld":
        read_manifest()  # the shipped weights are there, before anything is written
    console = Console(stderr=True, quiet=quiet)
    output_dir.mkdir(parents=True, exist_ok=True)
    if preset == "tiny":
        console.print("[yellow]vidstyle demo --preset tiny: random weights, so the outputs show the pipeline "
                      "working, not a real style.[/]")
    sample = demo_sample()
    inputs = write_inputs(sample, output_dir)
    written = []
    for name, options in mode_options(sample, inputs).items():
        console.print(f"{name}...")
        written.append(run_mode(name, options, inputs, output_dir / f"{name}.mp4", DEMO_PRESETS[preset], steps,
                                quiet, console))
    rows = [("input (held-out)", sample.raw), (f"ground truth: {STYLE}", sample.stylized),
            ("style reference", sample.refs[:1])]
    rows += [(path.stem.replace("_", " ", 1), read_video(path).frames) for path in written]
    sheet = output_dir / "contact_sheet.png"
    contact_sheet(rows).save(sheet)
    print(f"input clip: {inputs['input']}")
    print(f"style reference: {inputs['style']}")
    for path in [*written, sheet]:
        print(f"{path.stem}: {path}")
    return [*written, sheet]
