"""The kept toy world of the seed study (`benchmarks.toyworld.shipped_world`): the committed descriptor is copied
with its CLIP path rewritten, and the weight digest tells two worlds apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from benchmarks.toyworld.shipped_world import DESCRIPTOR_PARTS, copy_descriptor, weights_digest

KEPT = Path(__file__).resolve().parents[1] / "benchmarks" / "toyworld" / "world_s" / "descriptor"


def test_the_committed_descriptor_copies_with_its_clip_path_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "run" / "descriptor"
    target.parent.mkdir()
    copy_descriptor(KEPT, target)
    config = json.loads((target / "style_extractor" / "style_extractor.json").read_text())
    assert config["clip_model"] == str((target / "clip").resolve())
    assert (Path(config["clip_model"]) / "model.safetensors").is_file()
    digest = weights_digest(target, DESCRIPTOR_PARTS)
    assert digest == weights_digest(KEPT, DESCRIPTOR_PARTS) == "09c1daeab14641fb"  # world S, docs/toyworld_benchmark
    assert not (target.parent / ".descriptor.tmp").exists()
    with pytest.raises(SystemExit, match="holds no descriptor"):
        copy_descriptor(tmp_path / "run", tmp_path / "other")


def test_weights_digest_sees_a_changed_tensor(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    save_file({"w": torch.zeros(3)}, tmp_path / "model" / "a.safetensors")
    (tmp_path / "model" / "notes.json").write_text("{}")
    before = weights_digest(tmp_path, ("model",))
    (tmp_path / "model" / "notes.json").write_text('{"changed": 1}')
    save_file({"w": torch.ones(3)}, tmp_path / "model.safetensors")  # outside the parts
    assert weights_digest(tmp_path, ("model",)) == before  # only the parts' tensors count
    save_file({"w": torch.tensor([0.0, 0.0, 1e-7])}, tmp_path / "model" / "a.safetensors")
    assert weights_digest(tmp_path, ("model",)) != before
