"""Decoded training samples: one manifest row as frames, style images and captions, and a torch Dataset of them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from vidstyle.data.manifest import SampleRecord, media_kind, read_manifest
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import fit_image, load_image, read_video, resize_frames


@dataclass
class Sample:
    """One decoded training sample.

    ``raw`` and ``stylized`` are ``uint8 [F, H, W, 3]`` RGB with the same ``F`` (a ``4k + 1`` count; 1 for an
    image); ``stylized`` is None for StyleMaster-only data. ``refs`` are the style images, each ``W x H`` RGB.
    """

    id: str
    raw: np.ndarray
    stylized: np.ndarray | None
    refs: list[Image.Image]
    t_ns: str
    t_sty: str | None
    style_id: str
    scores: dict[str, float] | None = None

    @property
    def num_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.raw.shape[0])

    @property
    def is_image(self) -> bool:
        """Whether the sample is a single frame (an image row, or a video cut to one frame)."""
        return self.num_frames == 1


def wan_frame_count(num_frames: int) -> int:
    """The largest ``4k + 1`` count not above ``num_frames`` (Wan's VAE frame rule: 1, 5, 9, ...); needs >= 1."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    return (num_frames - 1) // 4 * 4 + 1


def _load_frames(path: Path, height: int, width: int, max_frames: int | None) -> np.ndarray:
    """A video resized while decoding, or an image as one frame: ``uint8 [F, height, width, 3]``, F = 4k + 1."""
    if media_kind(path.name) == "image":
        return resize_frames(np.asarray(load_image(path))[None], height, width)
    frames = read_video(path, size=(height, width)).frames[:max_frames]
    return frames[: wan_frame_count(len(frames))]


def load_sample(
    folder: str | Path, record: SampleRecord, height: int, width: int, max_frames: int | None = None
) -> Sample:
    """Decode ``record`` of the dataset in ``folder`` at ``height x width``.

    Videos keep their first ``max_frames`` frames (all if None), cut to the largest ``4k + 1`` count; raw and
    stylized must then have the same number of frames. Images are resized to one frame; style references are
    cover-resized and center-cropped. Decoding problems raise VidstyleInputError naming the sample id.
    """
    if height < 1 or width < 1:
        raise VidstyleInputError(f"height and width must be positive, got {height}x{width}")
    if max_frames is not None and max_frames < 1:
        raise VidstyleInputError(f"max_frames must be >= 1, got {max_frames}")
    folder = Path(folder)
    try:
        raw = _load_frames(folder / record.raw, height, width, max_frames)
        stylized = None
        if record.stylized is not None:
            stylized = _load_frames(folder / record.stylized, height, width, max_frames)
        refs = [fit_image(load_image(folder / ref), height, width) for ref in record.style_refs]
    except VidstyleInputError as err:
        raise VidstyleInputError(f"sample {record.id!r}: {err}") from err
    if stylized is not None and len(stylized) != len(raw):
        raise VidstyleInputError(
            f"sample {record.id!r}: raw has {len(raw)} frames but stylized has {len(stylized)} "
            f"(after max_frames={max_frames} and the 4k+1 rule)"
        )
    return Sample(
        id=record.id,
        raw=raw,
        stylized=stylized,
        refs=refs,
        t_ns=record.t_ns,
        t_sty=record.t_sty,
        style_id=record.style_id,
        scores=record.scores,
    )


class StyleDataset(Dataset):
    """The valid rows of the dataset in ``folder``, decoded on access by :func:`load_sample`.

    Bad manifest rows are skipped with a warning (``on_error="skip"``, see ``self.report``) or raise
    (``"stop"``). A manifest without any valid row raises VidstyleInputError.
    """

    def __init__(
        self,
        folder: str | Path,
        height: int,
        width: int,
        max_frames: int | None = None,
        on_error: Literal["skip", "stop"] = "skip",
    ) -> None:
        self.folder = Path(folder)
        self.height, self.width, self.max_frames = height, width, max_frames
        self.report = read_manifest(self.folder, on_error=on_error)
        self.records = self.report.records
        if self.report.skipped:
            first = self.report.errors[0]
            warnings.warn(
                f"{self.report.manifest}: skipped {self.report.skipped} bad row(s); "
                f"first: line {first.line}: {first.message}",
                stacklevel=2,
            )
        if not self.records:
            raise VidstyleInputError(f"{self.report.manifest}: no valid samples")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Sample:
        return load_sample(self.folder, self.records[index], self.height, self.width, self.max_frames)


def collate_samples(batch: list[Sample]) -> list[Sample]:
    """Identity collate for a DataLoader: samples of different frame counts stay a list for the trainer."""
    return list(batch)
