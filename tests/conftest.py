"""Shared fixtures: the tiny offline DreamStyle pipeline and generated media."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(scope="session")
def tiny_pipe():
    """A DreamStylePipeline on tiny random Wan I2V components (shared: do not leave adapters attached)."""
    from vidstyle import DreamStylePipeline
    from vidstyle.backbones import build_tiny_components

    pipe = DreamStylePipeline(**build_tiny_components("i2v", seed=0))
    pipe.set_progress_bar_config(disable=True)
    return pipe
