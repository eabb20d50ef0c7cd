"""Tests for vidstyle.data: manifest checking with line numbers, sample decoding, the torch Dataset."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import smooth_frames
from PIL import Image

from vidstyle.data import (
    ManifestReport,
    RowError,
    Sample,
    SampleRecord,
    StyleDataset,
    collate_samples,
    load_sample,
    read_manifest,
    wan_frame_count,
    write_manifest,
)
from vidstyle.errors import VidstyleInputError
from vidstyle.video_io import write_video

H, W = 32, 48


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """Shared media: 9- and 12-frame videos, an image pair and two style images (a fresh copy per dataset)."""
    root = tmp_path_factory.mktemp("dataset_media")
    write_video(smooth_frames(9, H, W), root / "raw9.mp4", Fraction(16))
    write_video(smooth_frames(9, H, W)[:, ::-1].copy(), root / "sty9.mp4", Fraction(16))
    write_video(smooth_frames(12, H, W), root / "raw12.mp4", Fraction(16))
    write_video(smooth_frames(5, H, W), root / "sty5.mp4", Fraction(16))
    Image.fromarray(smooth_frames(1, 40, 40)[0]).save(root / "img.png")
    Image.fromarray(smooth_frames(1, 40, 40)[0] // 2).save(root / "img_sty.jpg")
    Image.fromarray(smooth_frames(1, 64, 30)[0]).save(root / "style_a.png")
    Image.fromarray(smooth_frames(1, 20, 20)[0]).save(root / "style_b.webp")
    return root


def row(**fields: object) -> dict:
    """A valid video row, updated with ``fields`` (a None value removes the key)."""
    base = {
        "id": "v1",
        "raw": "raw9.mp4",
        "stylized": "sty9.mp4",
        "style_refs": ["style_a.png", "style_b.webp"],
        "t_ns": "a street at night",
        "t_sty": "a street at night, in ukiyo-e style",
        "style_id": "ukiyoe",
        "scores": {"csd": 0.61},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def make_dataset(root: Path, media: Path, lines: list[str | dict]) -> Path:
    """``root`` holding the shared media and a manifest of ``lines`` (dicts are JSON-encoded, strings kept)."""
    root.mkdir()
    for src in media.iterdir():
        (root / src.name).symlink_to(src)
    text = "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n"
    (root / "manifest.jsonl").write_text(text, encoding="utf-8")
    return root


# ---------------------------------------------------------------- manifest


def test_valid_manifest_loads(tmp_path: Path, media_dir: Path) -> None:
    image_row = row(id="i1", raw="img.png", stylized="img_sty.jpg", t_sty=None, scores=None)
    sm_only = row(id="s1", stylized=None, style_refs=[], scores=None)
    folder = make_dataset(tmp_path / "ds", media_dir, [row(), image_row, sm_only])
    report = read_manifest(folder)
    assert isinstance(report, ManifestReport)
    assert (report.errors, report.skipped) == ([], 0)
    assert [r.id for r in report.records] == ["v1", "i1", "s1"]
    first = report.records[0]
    assert first.scores == {"csd": 0.61} and first.style_refs == ["style_a.png", "style_b.webp"]
    assert report.records[1].is_image and report.records[1].t_sty is None
    assert report.records[2].stylized is None and not report.records[2].is_image


def bad(**fields: object) -> dict:
    """A row with id ``"bad"`` and ``fields`` changed."""
    return row(**{"id": "bad", **fields})


BAD_ROWS = [
    ("missing field", bad(t_ns=None), "t_ns: missing required field"),
    ("wrong type", bad(style_refs="style_a.png"), "style_refs: Input should be a valid list"),
    ("wrong score type", bad(scores={"csd": "high"}), "scores.csd: Input should be a valid number"),
    ("unknown field", bad(extra=1), "extra: unknown field"),
    ("duplicate id", row(), "duplicate id 'v1' (first on line 1)"),
    ("missing file", bad(stylized="nope.mp4"), "stylized: file not found: 'nope.mp4'"),
    ("escaping path", bad(style_refs=["../style_a.png"]), "style_refs.0: path escapes the dataset folder"),
    ("absolute path", bad(raw="/tmp/raw9.mp4"), "raw: absolute paths are not allowed"),
    ("unsupported extension", bad(raw="raw9.txt"), "raw: unsupported extension '.txt'"),
    ("video as style ref", bad(style_refs=["raw9.mp4"]), "style_refs.0: style references must be images"),
    ("kind mismatch", bad(raw="img.png"), "stylized: raw is an image but stylized is a video"),
    ("no refs, no t_sty", bad(style_refs=[], t_sty=None), "style_refs: must not be empty unless t_sty is given"),
    ("not an object", "[1, 2]", "expected a JSON object, got list"),
    ("blank id", bad(id=" "), "id: must not be empty"),
]


@pytest.mark.parametrize(("kind", "bad_line", "expected"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_row_reported_with_line(
    tmp_path: Path, media_dir: Path, kind: str, bad_line: dict | str, expected: str
) -> None:
    folder = make_dataset(tmp_path / "ds", media_dir, [row(), "", bad_line, row(id="v3")])
    report = read_manifest(folder)
    assert [r.id for r in report.records] == ["v1", "v3"]
    assert report.skipped == 1 and len(report.errors) == 1
    assert report.errors[0].line == 3
    assert expected in report.errors[0].message and "\n" not in report.errors[0].message


def test_malformed_rows_skip_and_stop(tmp_path: Path, media_dir: Path) -> None:
    lines = [
        row(id="a"),
        "",
        '{"id": "b", "raw": ',  # line 3: bad JSON
        row(id="c", style_refs=["missing.png"]),  # line 4
        "   ",
        row(id="a"),  # line 6: duplicate
        row(id="d"),
    ]
    folder = make_dataset(tmp_path / "ds", media_dir, lines)
    report = read_manifest(folder, on_error="skip")
    assert [r.id for r in report.records] == ["a", "d"]
    assert report.skipped == 3
    assert [e.line for e in report.errors] == [3, 4, 6]
    assert report.errors[0].message.startswith("invalid JSON")
    assert report.errors[1] == RowError(line=4, message="style_refs.0: file not found: 'missing.png'")
    with pytest.raises(VidstyleInputError, match=r"manifest\.jsonl: line 3: invalid JSON") as info:
        read_manifest(folder, on_error="stop")
    assert "\n" not in str(info.value)


def test_check_files_off_and_bad_utf8(tmp_path: Path, media_dir: Path) -> None:
    folder = make_dataset(tmp_path / "ds", media_dir, [row(raw="gone.mp4", stylized=None)])
    assert [r.id for r in read_manifest(folder, check_files=False).records] == ["v1"]
    with (folder / "manifest.jsonl").open("ab") as handle:
        handle.write(b'{"id": "\xff"}\n')
    report = read_manifest(folder, check_files=False)
    assert report.errors == [RowError(line=2, message="not valid UTF-8")]


def test_missing_folder_or_manifest(tmp_path: Path) -> None:
    with pytest.raises(VidstyleInputError, match="dataset folder not found"):
        read_manifest(tmp_path / "absent")
    with pytest.raises(VidstyleInputError, match="dataset manifest not found"):
        read_manifest(tmp_path)
    with pytest.raises(VidstyleInputError, match="on_error"):
        read_manifest(tmp_path, on_error="ignore")  # type: ignore[arg-type]


def test_write_manifest_round_trip(tmp_path: Path, media_dir: Path) -> None:
    folder = make_dataset(tmp_path / "ds", media_dir, [row(), row(id="i", raw="img.png", stylized=None)])
    records = read_manifest(folder).records
    out = write_manifest(tmp_path / "copy", records)
    assert out == tmp_path / "copy" / "manifest.jsonl"
    assert read_manifest(tmp_path / "copy", check_files=False).records == records
    assert "stylized" not in out.read_text().splitlines()[1]  # unset optionals are left out
    assert sorted(p.name for p in out.parent.iterdir()) == ["manifest.jsonl"]
    with pytest.raises(VidstyleInputError, match="duplicate sample id 'v1'"):
        write_manifest(tmp_path / "copy", [records[0], records[0]])
    assert read_manifest(tmp_path / "copy", check_files=False).records == records  # untouched


def test_record_built_in_python(tmp_path: Path) -> None:
    record = SampleRecord(id="x", raw="clips/a.mp4", style_refs=["s/a.png"], t_ns="a cat", style_id="s")
    assert not record.is_image and record.media_paths() == [("raw", "clips/a.mp4"), ("style_refs.0", "s/a.png")]
    with pytest.raises(ValueError, match="path escapes the dataset folder"):
        SampleRecord(id="x", raw="a/../../b.mp4", style_refs=["s.png"], t_ns="", style_id="s")
    write_manifest(tmp_path, [record])
    assert read_manifest(tmp_path, check_files=False).records == [record]


# ---------------------------------------------------------------- samples


def test_wan_frame_count() -> None:
    assert [wan_frame_count(n) for n in (1, 4, 5, 8, 9, 12, 13)] == [1, 1, 5, 5, 9, 9, 13]


def test_load_sample_video(tmp_path: Path, media_dir: Path) -> None:
    folder = make_dataset(tmp_path / "ds", media_dir, [row(raw="raw12.mp4", stylized="raw12.mp4")])
    record = read_manifest(folder).records[0]
    sample = load_sample(folder, record, 24, 40)
    assert isinstance(sample, Sample) and sample.id == "v1" and sample.style_id == "ukiyoe"
    assert sample.raw.shape == (9, 24, 40, 3) and sample.raw.dtype == np.uint8
    assert sample.stylized is not None and sample.stylized.shape == (9, 24, 40, 3)
    assert [ref.size for ref in sample.refs] == [(40, 24), (40, 24)] and sample.refs[0].mode == "RGB"
    assert (sample.t_ns, sample.t_sty, sample.scores) == (record.t_ns, record.t_sty, {"csd": 0.61})
    assert not sample.is_image
    assert load_sample(folder, record, H, W, max_frames=8).raw.shape == (5, H, W, 3)
    assert load_sample(folder, record, H, W, max_frames=4).is_image


def test_load_sample_image_and_mismatch(tmp_path: Path, media_dir: Path) -> None:
    lines = [
        row(id="img", raw="img.png", stylized="img_sty.jpg"),
        row(id="short", raw="raw9.mp4", stylized="sty5.mp4"),
        row(id="same", raw="raw12.mp4", stylized="raw9.mp4", style_refs=[]),
    ]
    folder = make_dataset(tmp_path / "ds", media_dir, lines)
    img, short, same = read_manifest(folder).records
    sample = load_sample(folder, img, H, W)
    assert sample.is_image and sample.raw.shape == (1, H, W, 3) and sample.stylized.shape == (1, H, W, 3)
    with pytest.raises(VidstyleInputError, match=r"sample 'short': raw has 9 frames but stylized has 5"):
        load_sample(folder, short, H, W)
    assert load_sample(folder, short, H, W, max_frames=5).num_frames == 5
    assert load_sample(folder, same, H, W).num_frames == 9  # 12 -> 9 matches 9
    assert load_sample(folder, same, H, W).refs == []


def test_load_sample_undecodable_names_sample(tmp_path: Path, media_dir: Path) -> None:
    folder = make_dataset(tmp_path / "ds", media_dir, [row(stylized=None)])
    (folder / "raw9.mp4").unlink()
    (folder / "raw9.mp4").write_bytes(b"not a video at all")
    record = read_manifest(folder).records[0]
    with pytest.raises(VidstyleInputError, match=r"^sample 'v1': cannot decode video"):
        load_sample(folder, record, H, W)


def test_style_dataset(tmp_path: Path, media_dir: Path) -> None:
    lines = [row(), "not json", row(id="i", raw="img.png", stylized=None, t_sty=None)]
    folder = make_dataset(tmp_path / "ds", media_dir, lines)
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        dataset = StyleDataset(folder, H, W, max_frames=5)
    assert len(dataset) == 2 and dataset.report.errors[0].line == 2
    video, image = dataset[0], dataset[1]
    assert video.raw.shape == (5, H, W, 3) and image.raw.shape == (1, H, W, 3) and image.stylized is None
    batch = collate_samples([video, image])
    assert isinstance(batch, list) and batch[0] is video and batch[1] is image
    with pytest.raises(VidstyleInputError, match="line 2"):
        StyleDataset(folder, H, W, on_error="stop")
    empty = make_dataset(tmp_path / "empty", media_dir, [""])
    with pytest.raises(VidstyleInputError, match="no valid samples"):
        StyleDataset(empty, H, W)
