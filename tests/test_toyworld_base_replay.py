"""The toy-world base stage's step budget (`benchmarks.toyworld.base.train_within`): filled from a time budget, or
replayed from an earlier run's step counts (``--train-steps``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.toyworld.base import replay_steps, train_within
from vidstyle.training.config import TrainConfig


class RecordingTrainer:
    """Stands in for a trainer: records each run's config and whether it resumed; 'trains' by calling on_step."""

    runs: list[tuple[TrainConfig, bool]] = []

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def train(self, on_step=None, resume: bool = False) -> None:
        RecordingTrainer.runs.append((self.config, resume))
        for step in range(1, self.config.max_steps + 1 if on_step else 0):
            on_step(step, 0.0)


@pytest.fixture
def trainer():
    RecordingTrainer.runs = []
    return RecordingTrainer


def test_replayed_steps_replace_the_time_budget_and_keep_the_probe(tmp_path: Path, trainer) -> None:
    config = TrainConfig(output_dir=tmp_path / "run", max_steps=9999, cooldown_steps=600)
    result = train_within(trainer, config, seconds=1e6, probe=7, steps=3248)
    (probe, probe_resumed), (full, full_resumed) = trainer.runs
    assert (probe.max_steps, probe.cooldown_steps, probe_resumed) == (7, 0, False)
    assert (full.max_steps, full.checkpoint_every, full.cooldown_steps, full_resumed) == (3248, 3248, 600, True)
    assert result["steps"] == 3248


def test_without_replay_the_budget_sets_the_steps(tmp_path: Path, trainer) -> None:
    config = TrainConfig(output_dir=tmp_path / "run", max_steps=9999)
    train_within(trainer, config, seconds=0.0, probe=5)  # no time left after the probe: the probe's steps only
    assert trainer.runs[1][0].max_steps == 5


def test_replay_steps_parses_three_counts() -> None:
    assert replay_steps("3248,3428,4039") == {"vae": 3248, "i2v": 3428, "t2v": 4039}
    for bad in ("3248,3428", "1,2,3,4", "3248,0,4039"):
        with pytest.raises(argparse.ArgumentTypeError):
            replay_steps(bad)
