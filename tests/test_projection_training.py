"""StyleMaster projection trainer: triplets from a manifest, loss falls, exact resume, export, errors."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from media import smooth_frames
from PIL import Image

from vidstyle.errors import VidstyleInputError
from vidstyle.style import StyleExtractor
from vidstyle.training.config import ProjectionTrainConfig
from vidstyle.training.projection_trainer import ProjectionTrainer, TripletSource
from vidstyle.video_io import write_video

STYLES = {"invert": lambda f: 255 - f, "dark": lambda f: f // 3}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two styles x two contents, each with a raw video, a stylized video and a style reference."""
    root = tmp_path_factory.mktemp("triplets")
    rows = []
    for content in range(2):
        frames = np.roll(smooth_frames(5, 32, 32), 11 * content, axis=2)
        write_video(frames, root / f"raw{content}.mp4", Fraction(8))
        for style, op in STYLES.items():
            name = f"{style}{content}"
            write_video(op(frames), root / f"{name}.mp4", Fraction(8))
            Image.fromarray(op(frames[0])[::-1].copy()).save(root / f"{name}.png")
            rows.append({"id": name, "raw": f"raw{content}.mp4", "stylized": f"{name}.mp4",
                         "style_refs": [f"{name}.png"], "t_ns": "a gradient", "style_id": style})
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def config(dataset, out, **overrides) -> ProjectionTrainConfig:
    base = dict(dataset=dataset, output_dir=out, clip_model="tiny", out_dim=24, num_global_tokens=2,
                projection_hidden=32, triplets_per_step=4, max_steps=6, learning_rate=1e-2, checkpoint_every=3,
                gradient_accumulation=1, extractor_options={"qformer_heads": 2})
    return ProjectionTrainConfig(**{**base, **overrides})


def test_triplets_share_style_not_content(dataset):
    source = TripletSource(dataset, size=32)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        anchor, positive, negative = source.triplet(g)
        assert anchor is not positive and negative not in (anchor, positive)


def test_loss_on_fixed_triplets_falls_with_training(dataset, tmp_path):
    trainer = ProjectionTrainer(config(dataset, tmp_path / "o", max_steps=40, checkpoint_every=1000, margin=0.8,
                                      triplets_per_step=8))

    def held_loss() -> float:  # the same 32 triplets and shuffles every time
        with torch.no_grad():
            return float(np.mean([trainer.micro_loss(10**6 + i, torch.Generator().manual_seed(i)).item()
                                  for i in range(4)]))

    before = held_loss()
    trainer.train()
    assert held_loss() < 0.7 * before


def test_killed_then_resumed_equals_uninterrupted_and_exports(dataset, tmp_path):
    full = ProjectionTrainer(config(dataset, tmp_path / "a"))
    export = full.train()

    def kill(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ProjectionTrainer(config(dataset, tmp_path / "b")).train(on_step=kill)
    resumed = ProjectionTrainer(config(dataset, tmp_path / "b"))
    resumed.train(resume=True)
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)
    loaded = StyleExtractor.from_pretrained(export).global_proj.state_dict()
    trained = full.extractor.global_proj.state_dict()
    assert loaded.keys() == trained.keys() and all(torch.equal(loaded[k], trained[k]) for k in trained)


def test_one_style_is_refused(dataset, tmp_path):
    rows = [json.loads(line) for line in (dataset / "manifest.jsonl").read_text().splitlines()]
    (tmp_path / "one").mkdir()
    for name in {p for r in rows for p in [r["raw"], r["stylized"], *r["style_refs"]]}:
        (tmp_path / "one" / name).write_bytes((dataset / name).read_bytes())
    (tmp_path / "one" / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows if r["style_id"] == "dark"))
    with pytest.raises(VidstyleInputError, match="two style ids"):
        TripletSource(tmp_path / "one")
