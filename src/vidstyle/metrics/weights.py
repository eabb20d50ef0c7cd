"""Reading weight files and loading them strictly, with one-line ``VidstyleInputError`` messages.

Shared by the metric encoders (LPIPS, CSD, FID Inception) that load published checkpoints into networks written in
this package: every key must be present, no key may be left over, and every shape must match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from vidstyle.errors import VidstyleInputError

_SHOWN = 4  # offending keys named in a message


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _some(keys: Sequence[str]) -> str:
    """``['a', 'b', ...] (+3 more)`` for a message line."""
    shown = ", ".join(repr(k) for k in keys[:_SHOWN])
    more = f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return f"[{shown}]{more}"


def read_state_dict(
    path: str | Path,
    what: str,
    *,
    wrapper_keys: Sequence[str] = (),
    strip_prefix: str | None = None,
    allowed_globals: Sequence[type] = (),
) -> dict[str, torch.Tensor]:
    """Read a state dict (name -> tensor) from ``path``, on the CPU.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(map_location="cpu", weights_only=True)`` (``allowed_globals``: extra classes the unpickler may
    rebuild, e.g. ``argparse.Namespace`` in a training checkpoint). If the file holds a checkpoint dict with one of
    ``wrapper_keys`` (tried in order, e.g. ``("model_state_dict", "state_dict")``), the state dict under it is used.
    ``strip_prefix`` (e.g. ``"module."``) is removed from the keys that start with it. ``what`` names the weights in
    error messages.
    """
    path = Path(path)
    if not path.is_file():
        raise VidstyleInputError(f"{what} weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            with torch.serialization.safe_globals(list(allowed_globals)):
                state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any decode failure is a user input problem
        raise VidstyleInputError(f"cannot read {what} weights {path}: {_first_line(err)}") from err
    if not isinstance(state, Mapping):
        raise VidstyleInputError(f"{what} weights {path} do not hold a state dict (got {type(state).__name__})")
    for key in wrapper_keys:
        if isinstance(state.get(key), Mapping):
            state = state[key]
            break
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        wrapped = f" nor a checkpoint with one of the keys {list(wrapper_keys)}" if wrapper_keys else ""
        raise VidstyleInputError(
            f"{what} weights {path} are not a state dict{wrapped}: non-tensor entries {_some(not_tensors)}"
        )
    if strip_prefix:
        return {str(k).removeprefix(strip_prefix): v for k, v in state.items()}
    return {str(k): v for k, v in state.items()}


def load_state_strict(
    module: nn.Module, state: Mapping[str, torch.Tensor], what: str, *, optional: Iterable[str] = ()
) -> None:
    """Load ``state`` into ``module`` strictly; tensors are cast to the module's dtypes on load.

    Missing keys, unexpected keys or wrong shapes raise a one-line ``VidstyleInputError`` naming the first few
    offending keys. Keys of the module that end with one of ``optional`` (e.g. ``"num_batches_tracked"``) may be
    absent from ``state``; they then keep the module's current values.
    """
    expected = module.state_dict()
    suffixes = tuple(optional)
    state = dict(state)
    for key in expected.keys() - state.keys():
        if suffixes and key.endswith(suffixes):
            state[key] = expected[key]
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys {_some(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys {_some(unexpected)}")
        raise VidstyleInputError(f"{what} weights: {', '.join(parts)}")
    wrong = []
    for key, ref in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            wrong.append(f"{key} is a {type(value).__name__}, not a tensor")
        elif value.shape != ref.shape:
            wrong.append(f"{key} has shape {tuple(value.shape)}, expected {tuple(ref.shape)}")
    if wrong:
        more = f" (+{len(wrong) - _SHOWN} more)" if len(wrong) > _SHOWN else ""
        raise VidstyleInputError(f"{what} weights: {'; '.join(wrong[:_SHOWN])}{more}")
    module.load_state_dict(state, strict=True)
