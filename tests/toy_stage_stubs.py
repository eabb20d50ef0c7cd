"""Test stand-ins shared by the toy-world stage tests."""

from __future__ import annotations

import numpy as np

from benchmarks.toyworld.scores import SCORE_COLUMNS
from vidstyle.data.samples import Sample


class MeanScorer:
    """Stands in for ``ToyScorer``: the mean pixel value of the output clip as every column."""

    def score(self, output: np.ndarray, sample: Sample) -> dict[str, float]:
        assert output.shape == sample.raw.shape and output.dtype == np.uint8
        return dict.fromkeys(SCORE_COLUMNS, float(output.mean() / 255))
