"""``curation.json``: the settings that fix a curation's results; a rerun on the same folder must match them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from vidstyle.data.curation.layout import SETTINGS_NAME, Layout
from vidstyle.data.curation.store import LOCK_NAME, folder_lock, json_bytes, write_atomic
from vidstyle.data.resumable_folder import check_resumable_folder

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CurationSettings:
    """Everything a sample's files depend on. The raw videos and styles are recorded by content (file names and
    sizes; style ids, descriptions and reference hashes), not by path; the device and ``--shard`` are not recorded."""

    raw_videos: list[list]  # [[file name, size in bytes], ...] sorted by stem
    styles: list[dict]
    captioner: str
    stylizer: str
    propagator: str
    csd: str | None  # sha256 of the CSD weights, None: the style filter is skipped
    min_style: float
    min_content: float
    motion_range: list[float]
    styles_per_video: int
    frames: int
    height: int | None
    width: int | None
    steps: int
    strength: float | None
    seed: int
    dtype: str
    toy_ref_size: int | None
    format: int = FORMAT_VERSION

    def as_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # tuples -> lists, as they read back


def _ours_while_starting(name: str) -> bool:
    """The lock file and a settings file being written: all a folder holds while another shard claims it."""
    return name == LOCK_NAME or name.startswith(f".{SETTINGS_NAME}.")


def check_output_folder(folder: Path, settings: CurationSettings) -> bool:
    """Whether ``folder`` holds an earlier run with these settings (True) or is new or empty (False); refuses a
    file, a non-empty folder without ``curation.json`` and other settings. Reads only."""
    return check_resumable_folder(folder, SETTINGS_NAME, settings.as_json(), made="curated",
                                  transient=_ours_while_starting)


def claim_output_folder(layout: Layout, settings: CurationSettings) -> bool:
    """Under the folder lock: check again (another shard may have started) and write ``curation.json`` if it is
    not there yet. Returns whether the folder was already started."""
    with folder_lock(layout.root):
        resuming = check_output_folder(layout.root, settings)
        if not resuming:
            write_atomic(layout.settings, json_bytes(settings.as_json()))
    return resuming
