"""Distribution metrics on feature sets: Fréchet distance (FID-style) and ArtFID.

Scores depend on the feature extractor, so results are labelled with its name (``fid@inception-v3``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps images to feature vectors; ``name`` labels every score computed from its features."""

    name: str

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """images float [B, 3, H, W] in [0, 1] -> features [B, D]."""
        ...


def _f64(x: ArrayLike) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.detach().cpu().to(torch.float64)


def _sym_sqrt(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix [D, D] (tiny negative eigenvalues clamped to 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between N(mu1 [D], sigma1 [D, D]) and N(mu2 [D], sigma2 [D, D]).

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})`` with ``Tr((S1 S2)^{1/2}) = Tr((√S1 S2 √S1)^{1/2})``,
    computed by symmetric eigendecompositions in float64.
    """
    m1, m2, s1, s2 = _f64(mu1), _f64(mu2), _f64(sigma1), _f64(sigma2)
    if m1.shape != m2.shape or m1.ndim != 1 or s1.shape != (m1.numel(),) * 2 or s2.shape != s1.shape:
        shapes = [tuple(t.shape) for t in (m1, s1, m2, s2)]
        raise ValueError(f"need mu [D], sigma [D, D] for both Gaussians, got shapes {shapes}")
    root1 = _sym_sqrt(s1)
    inner = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp(min=0).sqrt().sum()
    value = (m1 - m2).square().sum() + s1.trace() + s2.trace() - 2 * tr_covmean
    return float(value.clamp(min=0))


def feature_statistics(features: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """features [N, D] (N >= 2) -> (mean [D], unbiased covariance [D, D]), float64."""
    f = _f64(features)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need features [N, D] with N >= 2, got shape {tuple(f.shape)}")
    mu = f.mean(dim=0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def fid_from_features(a: ArrayLike, b: ArrayLike) -> float:
    """Fréchet distance between the Gaussian fits of features a [N, D] and b [M, D]."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def art_fid(fid: float, lpips: float) -> float:
    """ArtFID (Wright & Ommer 2022): ``(1 + LPIPS content distance) * (1 + FID style distance)``."""
    return (1.0 + float(lpips)) * (1.0 + float(fid))


def labelled(name: str, metric: str, value: float) -> dict[str, float | str]:
    """A score labelled with its feature extractor, e.g. ``{"metric": "fid@inception-v3", ...}``."""
    return {"metric": f"{metric}@{name}", "extractor": name, "value": float(value)}
