"""The quality filters of a curated sample and their thresholds (definitions in ``docs/curation.md``).

* ``csd`` (style): CSD cosine of the stylized frames to the style references (``vidstyle.metrics.csd.csd_score``),
  only when CSD weights are given; without them the style filter is skipped, never replaced.
* ``content``: weight-free structure consistency with the raw video, the mean over frames of the Pearson
  correlation of the two frames' edge maps. An edge map is the Sobel gradient magnitude of the RGB frame (summed
  over channels) after a Gaussian blur, blurred again; both blurs have sigma = 5% of the shorter side, which
  removes the fine texture that styles add (hatching, dots, strokes) and keeps the scene's shapes.
* ``motion``: the mean DIS optical-flow magnitude between consecutive frames of the stylized video over that of the
  raw video, both on frames blurred as above, each in shorter sides per frame plus ``0.002``; 1 means the same
  amount of motion, 0 a frozen video, large values flicker or noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidstyle.metrics.motion import DISFlow

BLUR = 0.05  # Gaussian sigma as a fraction of the shorter frame side
MOTION_EPS = 0.002  # added to both mean flows (in shorter sides per frame): a static pair has ratio 1
DEFAULT_MIN_STYLE = 0.4
DEFAULT_MIN_CONTENT = 0.3
DEFAULT_MOTION_RANGE = (0.3, 3.0)


def _sigma(frame: np.ndarray) -> float:
    return max(0.5, BLUR * min(frame.shape[:2]))


def _blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def edge_map(frame: np.ndarray) -> np.ndarray:
    """``uint8 [H, W, 3]`` -> float32 ``[H, W]``: blurred Sobel gradient magnitude of the blurred RGB frame."""
    sigma = _sigma(frame)
    image = _blur(frame.astype(np.float32) / 255.0, sigma)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    return _blur(np.sqrt((gx * gx + gy * gy).sum(axis=-1)), sigma)


def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps; 1 if both are flat, 0 if only one is."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return float(na < 1e-9 and nb < 1e-9)
    return float(a @ b / (na * nb))


def content_consistency(raw: np.ndarray, stylized: np.ndarray) -> float:
    """Mean over frames of the correlation of :func:`edge_map` of raw and stylized (``uint8 [F, H, W, 3]`` each);
    in ``[-1, 1]``, 1 for the same structure."""
    return float(np.mean([map_correlation(edge_map(a), edge_map(b)) for a, b in zip(raw, stylized, strict=True)]))


def mean_motion(video: np.ndarray, flow: DISFlow | None = None) -> float:
    """Mean DIS flow magnitude between consecutive blurred frames of ``uint8 [F, H, W, 3]`` (F >= 2), in shorter
    sides per frame."""
    flow = flow or DISFlow()
    sigma = _sigma(video[0])
    blurred = [np.ascontiguousarray(_blur(frame, sigma)) for frame in video]
    pairs = zip(blurred[:-1], blurred[1:], strict=True)
    magnitudes = [np.linalg.norm(flow.flow(a, b), axis=-1).mean() for a, b in pairs]
    return float(np.mean(magnitudes)) / min(video.shape[1:3])


def motion_ratio(raw: np.ndarray, stylized: np.ndarray) -> float:
    """``(mean_motion(stylized) + eps) / (mean_motion(raw) + eps)`` for ``uint8 [F, H, W, 3]`` videos."""
    flow = DISFlow()
    return (mean_motion(stylized, flow) + MOTION_EPS) / (mean_motion(raw, flow) + MOTION_EPS)


@dataclass(frozen=True)
class Thresholds:
    """A sample is kept when ``csd >= min_style`` (if computed), ``content >= min_content`` and
    ``motion_range[0] <= motion <= motion_range[1]``."""

    min_style: float = DEFAULT_MIN_STYLE
    min_content: float = DEFAULT_MIN_CONTENT
    motion_range: tuple[float, float] = DEFAULT_MOTION_RANGE


class Filters:
    """Scores a stylized video and lists the checks it fails; ``csd_encoder`` None skips the style filter."""

    def __init__(self, thresholds: Thresholds, csd_encoder=None) -> None:
        self.thresholds, self.csd_encoder = thresholds, csd_encoder

    @property
    def skipped(self) -> list[str]:
        """Filters that do not run, with why."""
        return [] if self.csd_encoder is not None else ["style filter skipped: no --csd weights given"]

    def scores(self, raw: np.ndarray, stylized: np.ndarray, refs: list[np.ndarray]) -> dict[str, float]:
        """``raw``, ``stylized`` ``uint8 [F, H, W, 3]``; ``refs`` ``uint8 [h, w, 3]`` each -> the filter values."""
        scores = {"content": content_consistency(raw, stylized), "motion": motion_ratio(raw, stylized)}
        if self.csd_encoder is not None:
            from vidstyle.metrics.csd import csd_score

            scores["csd"] = next(iter(csd_score(self.csd_encoder, stylized, refs).values()))
        return {name: round(float(value), 6) for name, value in sorted(scores.items())}

    def failures(self, scores: dict[str, float]) -> list[dict]:
        """One entry per failed check: ``check``, ``value``, the threshold(s) and a one-line ``message``."""
        t, failed = self.thresholds, []
        if "csd" in scores and scores["csd"] < t.min_style:
            failed.append({"check": "style", "value": scores["csd"], "min": t.min_style,
                           "message": f"csd {scores['csd']:.4f} < --min-style {t.min_style}"})
        if scores["content"] < t.min_content:
            failed.append({"check": "content", "value": scores["content"], "min": t.min_content,
                           "message": f"content {scores['content']:.4f} < --min-content {t.min_content}"})
        low, high = t.motion_range
        if not low <= scores["motion"] <= high:
            failed.append({"check": "motion", "value": scores["motion"], "min": low, "max": high,
                           "message": f"motion {scores['motion']:.4f} outside --motion-range {low},{high}"})
        return failed
