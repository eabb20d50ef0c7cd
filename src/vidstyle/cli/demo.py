"""`vidstyle demo`: stylize a held-out toy clip in every mode, fully offline.

By default on the trained toy-world models that ship inside the package (presets ``toyworld`` and
``toyworld-t2v``, with their DreamStyle adapter and StyleMaster weights) and with the benchmark's sampling
settings (``TOYWORLD_SAMPLING``); ``--preset tiny`` runs the same modes on random weights. The clip is rendered
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
REFS = 2  # style references of the demo's DreamStyle style-image modes: as many as each training sample had
# sampling per output on the toyworld preset, as in `vidstyle bench toyworld` (README, "Toy world"): text guidance
# 4 (DreamStyle) and 1 (StyleMaster); StyleMaster's style guidance 4 (transfer) and 2 (generation). DreamStyle's
# style-image modes add style guidance 4, the benchmark's extra style-image row: more style, less fidelity.
TOYWORLD_SAMPLING = {
    "dreamstyle_text": {"guidance": 4.0},
    "dreamstyle_style_image": {"guidance": 4.0, "style_guidance": 4.0},
    "dreamstyle_first_frame": {"guidance": 4.0},
    "dreamstyle_fused": {"guidance": 4.0, "style_guidance": 4.0},
    "stylemaster_transfer": {"guidance": 1.0, "style_guidance": 4.0},
    "stylemaster_generation": {"guidance": 1.0, "style_guidance": 2.0},
}


def demo_sample() -> ToySample:
    """The demo's clip: held-out scene seed, a training style, ``REFS`` style references on other content."""
    return make_toy_sample(WORLD_SEED, HELDOUT_SEED_START, STYLE, SIZE, FRAMES, refs=REFS)


def write_inputs(sample: ToySample, output_dir: Path) -> dict[str, Path]:
    """The input clip, the style references (``style``, ``style_2``, ...) and the ground-truth stylized first
    frame, as files."""
    paths = {"input": output_dir / "input.mp4", "first_frame": output_dir / "first_frame_stylized.png"}
    write_video(sample.raw, paths["input"], FPS)
    for i, ref in enumerate(sample.refs):
        key = "style" if i == 0 else f"style_{i + 1}"
        paths[key] = output_dir / f"{key}.png"
        Image.fromarray(ref).save(paths[key])
    Image.fromarray(sample.stylized[0]).save(paths["first_frame"])
    return paths


def reference_paths(inputs: dict[str, Path]) -> list[Path]:
    """The style reference files among :func:`write_inputs`' paths, in order."""
    return [path for key, path in inputs.items() if key.startswith("style")]


def mode_options(sample: ToySample, inputs: dict[str, Path]) -> dict[str, dict]:
    """Per output name, the method and its conditions (DreamStyle's four modes with every reference,
    StyleMaster's two tasks with the first)."""
    content, styles = sample.t_ns, reference_paths(inputs)
    return {
        "dreamstyle_text": dict(method="dreamstyle", prompt=sample.t_sty),
        "dreamstyle_style_image": dict(method="dreamstyle", prompt=content, style_images=styles),
        "dreamstyle_first_frame": dict(method="dreamstyle", prompt=content, first_frame=inputs["first_frame"]),
        "dreamstyle_fused": dict(method="dreamstyle", prompt=content, style_images=styles,
                                 style_prompt=get_style(STYLE).description),
        "stylemaster_transfer": dict(method="stylemaster", prompt=content, style_images=styles[:1]),
        "stylemaster_generation": dict(method="stylemaster", prompt=content),
    }


def run_mode(name: str, options: dict, inputs: dict[str, Path], output: Path, presets: tuple[str, str],
             steps: int, quiet: bool, console: Console) -> Path:
    """One output clip through the product path (`vidstyle stylize`, or `vidstyle generate`)."""
    preset = presets[0] if options["method"] == "dreamstyle" else presets[1]
    sampling = TOYWORLD_SAMPLING[name] if presets == DEMO_PRESETS["toyworld"] else {}
    if name == "stylemaster_generation":
        return generate(GenerateOptions(prompt=options["prompt"], style_image=inputs["style"], output=output,
                                        frames=FRAMES, fps=FPS, preset=preset, steps=steps, quiet=quiet, **sampling),
                        console)
    return stylize(StylizeOptions(input=inputs["input"], output=output, preset=preset, steps=steps, quiet=quiet,
                                  **options, **sampling), console)


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
            ("style references", sample.refs)]
    rows += [(path.stem.replace("_", " ", 1), read_video(path).frames) for path in written]
    sheet = output_dir / "contact_sheet.png"
    contact_sheet(rows).save(sheet)
    print(f"input clip: {inputs['input']}")
    print("style references: " + ", ".join(str(path) for path in reference_paths(inputs)))
    for path in [*written, sheet]:
        print(f"{path.stem}: {path}")
    return [*written, sheet]
