"""`vidstyle demo`: stylize the bundled sample clip in every mode, fully offline."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps
from rich.console import Console

from vidstyle.cli.stylize import StylizeOptions, stylize
from vidstyle.video_io import read_video

DEMO_PRESET = "tiny"


def toy_first_frame_stylizer(image: Image.Image) -> Image.Image:
    """A stand-in image stylizer for the first-frame mode: posterised colours with dark outlines."""
    poster = ImageOps.posterize(image.convert("RGB"), 2)
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 40 else 0)
    return Image.composite(Image.new("RGB", image.size), poster, edges)


def run_demo(output_dir: Path, steps: int = 4, quiet: bool = False) -> list[Path]:
    """Write one stylized clip per mode into ``output_dir`` and print the paths; returns them."""
    console = Console(stderr=True, quiet=quiet)
    output_dir.mkdir(parents=True, exist_ok=True)
    assets = resources.files("vidstyle") / "assets"
    with resources.as_file(assets / "sample.mp4") as clip, resources.as_file(assets / "style.png") as style:
        first = toy_first_frame_stylizer(Image.fromarray(read_video(clip).frames[0]))
        first_path = output_dir / "first_frame_stylized.png"
        first.save(first_path)
        console.print(f"[yellow]vidstyle demo: preset '{DEMO_PRESET}' has random weights (no trained toy "
                      "weights ship yet), so the outputs show the pipeline working, not a real style.[/]")
        modes = {
            "text": dict(prompt="a red ball and a blue box, in thick ink strokes"),
            "style_image": dict(prompt="a red ball and a blue box", style_images=[style]),
            "first_frame": dict(prompt="a red ball and a blue box", first_frame=first_path),
            "fused": dict(prompt="a red ball and a blue box", style_images=[style], style_prompt="ink strokes"),
        }
        written = []
        for mode, conditions in modes.items():
            console.print(f"mode {mode}...")
            options = StylizeOptions(input=Path(clip), output=output_dir / f"{mode}.mp4", preset=DEMO_PRESET,
                                     steps=steps, quiet=quiet, **conditions)
            written.append(stylize(options, console))
    print(f"input clip: {Path(str(assets / 'sample.mp4'))}")
    for path in written:
        print(f"{path.stem}: {path}")
    return written

