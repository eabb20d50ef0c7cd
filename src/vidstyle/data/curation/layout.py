"""Where everything lives in a curation output folder (see ``docs/curation.md``)::

    OUT/curation.json                     the settings (a rerun must match them)
    OUT/manifest.jsonl, OUT/rejected.jsonl
    OUT/clips/raw/<stem>.mp4              raw videos cut and resized to the working size (accepted samples only)
    OUT/clips/stylized/<id>.mp4           accepted stylized videos
    OUT/styles/<style>/ref<k>.<ext>       style references (copied or generated)
    OUT/work/videos/<stem>/raw.npz        stage outputs per video: working frames + fps, caption.json (t_ns)
    OUT/work/samples/<id>/first.png       stage outputs per sample: stylized first frame, stylized.npz,
                                          scores.json, done.json (the sample's record or rejection)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SETTINGS_NAME = "curation.json"
REJECTED_NAME = "rejected.jsonl"


@dataclass(frozen=True)
class Layout:
    """Paths of the output folder ``root``; ``*_rel`` paths are relative to it (as the manifest stores them)."""

    root: Path

    @property
    def settings(self) -> Path:
        return self.root / SETTINGS_NAME

    @property
    def rejected(self) -> Path:
        return self.root / REJECTED_NAME

    def video_dir(self, stem: str) -> Path:
        return self.root / "work" / "videos" / stem

    def raw_frames(self, stem: str) -> Path:
        return self.video_dir(stem) / "raw.npz"

    def caption(self, stem: str) -> Path:
        return self.video_dir(stem) / "caption.json"

    def sample_dir(self, sample_id: str) -> Path:
        return self.root / "work" / "samples" / sample_id

    def first_frame(self, sample_id: str) -> Path:
        return self.sample_dir(sample_id) / "first.png"

    def stylized_frames(self, sample_id: str) -> Path:
        return self.sample_dir(sample_id) / "stylized.npz"

    def scores(self, sample_id: str) -> Path:
        return self.sample_dir(sample_id) / "scores.json"

    def done(self, sample_id: str) -> Path:
        return self.sample_dir(sample_id) / "done.json"

    @staticmethod
    def raw_clip_rel(stem: str) -> str:
        return f"clips/raw/{stem}.mp4"

    @staticmethod
    def stylized_clip_rel(sample_id: str) -> str:
        return f"clips/stylized/{sample_id}.mp4"

    @staticmethod
    def ref_rel(style_id: str, index: int, suffix: str) -> str:
        return f"styles/{style_id}/ref{index}{suffix.lower()}"
