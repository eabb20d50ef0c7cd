"""Output folders that a rerun with the same settings continues: one rule for the data builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from vidstyle.errors import VidstyleInputError


def check_resumable_folder(folder: Path, settings_name: str, current: dict, made: str = "made",
                           transient: Callable[[str], bool] = lambda name: False) -> bool:
    """Whether ``folder`` holds an earlier run whose ``settings_name`` JSON equals ``current`` (resume: True) or is
    new or empty (False; entries for which ``transient(name)`` holds do not count). A file, a non-empty folder
    without the settings file, or other settings are user errors. Reads only."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise VidstyleInputError(f"output {folder} exists and is not a folder")
    if not folder.exists() or all(transient(p.name) for p in folder.iterdir()):
        return False
    path = folder / settings_name
    if not path.is_file():
        raise VidstyleInputError(f"output folder {folder} is not empty and holds no {settings_name}; "
                                 "choose a new or empty folder")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VidstyleInputError(f"cannot read {path}: {err}") from None
    differ = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if differ:
        raise VidstyleInputError(f"{folder} was {made} with other settings (different {', '.join(differ)}); "
                                 "rerun with the same options to continue it, or choose a new folder")
    return True
