"""Building a toy world folder atomically: everything is written into a temporary sibling, then renamed."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from vidstyle.adapters.serialization import replace_directory
from vidstyle.data.toy.world import ToyWorldConfig
from vidstyle.data.toy.writer import INFO_NAME, write_info, write_split
from vidstyle.errors import VidstyleInputError


def check_destination(out_dir: Path, overwrite: bool) -> None:
    """Refuse a file, the current directory, a non-empty folder without ``overwrite`` or that is not a toy world.

    ``out_dir`` is absolute.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise VidstyleInputError(f"output exists and is not a directory: {out_dir}")
    if not out_dir.is_dir():
        return
    here = Path.cwd()
    if here == out_dir or out_dir in here.parents:
        raise VidstyleInputError(f"the output directory holds the current directory: {out_dir} (it is replaced "
                                 "as a whole; choose a new folder)")
    if not any(out_dir.iterdir()):
        return
    if not overwrite:
        raise VidstyleInputError(f"output directory is not empty: {out_dir} (pass --overwrite to replace it)")
    if not (out_dir / INFO_NAME).is_file():
        raise VidstyleInputError(f"refusing to replace {out_dir}: it is not a toy world (no {INFO_NAME})")


def write_world(out_dir: str | Path, config: ToyWorldConfig, overwrite: bool = False,
                on_sample: Callable[[str], None] | None = None) -> Path:
    """Write ``config``'s world to ``out_dir`` (``train/``, ``eval/``, ``toy_world.json``) atomically.

    Nothing is left behind on failure or interrupt. ``on_sample(id)`` is called after each sample is written.
    """
    given = Path(out_dir)
    out_dir = Path(os.path.abspath(given))  # "." and "a/.." get a name; symlinks stay links
    if not out_dir.name:
        raise VidstyleInputError(f"cannot write a toy world to the file system root: {given}")
    check_destination(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        for split in config.splits:
            write_split(tmp / split, config, split, on_sample)
        write_info(tmp, config.info())
        replace_directory(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return given


def build_toy_world(out_dir: str | Path, samples: int, size: int = 64, frames: int = 9, seed: int = 0, refs: int = 2,
                    fps: float = 8.0, eval_samples: int | None = None, styles: list[str] | None = None,
                    heldout_styles: list[str] | None = None, overwrite: bool = False,
                    on_sample: Callable[[str], None] | None = None) -> Path:
    """Check the options (VidstyleInputError), then write the world; see :class:`ToyWorldConfig` for them."""
    config = ToyWorldConfig.create(samples=samples, size=size, frames=frames, seed=seed, refs=refs, fps=fps,
                                   eval_samples=eval_samples, styles=styles, heldout_styles=heldout_styles)
    return write_world(out_dir, config, overwrite=overwrite, on_sample=on_sample)
