"""Pixel views for visual anagrams: exact, channel-agnostic pixel permutations of ``[B, C, H, W]`` tensors.

Every view moves pixels and never mixes or rescales them, so it is an orthogonal transform: it keeps the norm
of any image and turns i.i.d. Gaussian noise into i.i.d. Gaussian noise (the same values, elsewhere). That is
what lets the anagram sampler denoise several views of one noisy image at once.

A view is stored as a permutation of the ``H * W`` pixel positions, built for each image size on first use:
``view(x)[..., i] = x[..., perm[i]]`` on the flattened spatial axis, and ``inverse`` gathers with the inverse
permutation, so ``inverse(view(x))`` is bit-exact for any dtype, batch and channel count (noise plus
learned-variance channels included).
"""

from __future__ import annotations

import torch

from vidstyle.errors import VidstyleInputError

Permutation = tuple[torch.Tensor, torch.Tensor]


class View:
    """A pixel permutation of ``[B, C, H, W]`` tensors; subclasses define :meth:`_source_grid`."""

    name = "view"

    def __init__(self) -> None:
        self._perms: dict[tuple[int, int, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def spec(self) -> str:
        """The text that :func:`parse_views` turns back into this view, e.g. ``"patch_permute:8"``."""
        return self.name

    def check_size(self, height: int, width: int) -> None:
        """Raise :class:`VidstyleInputError` if this view cannot act on ``height x width`` images."""

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        """``[H, W]`` int64: for every output pixel, the flat index (``row * W + col``) of its source pixel."""
        raise NotImplementedError

    def permutation(self, height: int, width: int, device: torch.device | str = "cpu") -> Permutation:
        """``(perm, inverse_perm)``, each ``[H * W]`` int64 on ``device`` (cached per size and device)."""
        key = (height, width, torch.device(device))
        if key not in self._perms:
            self.check_size(height, width)
            perm = self._source_grid(height, width).reshape(-1)
            if not torch.equal(perm.sort().values, torch.arange(height * width)):
                raise AssertionError(f"view {self.spec} is not a permutation at {height}x{width}")
            inverse = torch.empty_like(perm)
            inverse[perm] = torch.arange(perm.numel())
            self._perms[key] = (perm.to(device), inverse.to(device))
        return self._perms[key]

    def view(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``: the image as this view shows it."""
        return self._gather(x, 0)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``: undoes :meth:`view` exactly."""
        return self._gather(x, 1)

    def _gather(self, x: torch.Tensor, which: int) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"views act on [B, C, H, W] tensors, got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        index = self.permutation(height, width, x.device)[which]
        return x.flatten(-2).index_select(-1, index).view_as(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


def _grid(height: int, width: int) -> torch.Tensor:
    """``[H, W]`` int64 holding each pixel's own flat index."""
    return torch.arange(height * width).view(height, width)


def _require_square(view: View, height: int, width: int) -> None:
    if height != width:
        raise VidstyleInputError(f"view {view.spec} needs a square image, got {height}x{width}")


def _seeded_perm(count: int, seed: int) -> torch.Tensor:
    """A seeded permutation of ``range(count)`` that is not the identity (when ``count > 1``)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(count, generator=generator)
        if count < 2 or not torch.equal(perm, torch.arange(count)):
            return perm


class IdentityView(View):
    """The image as it is."""

    name = "identity"

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        return _grid(height, width)


class FlipView(View):
    """Upside down (a vertical flip: the top row becomes the bottom row)."""

    name = "flip"

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        return _grid(height, width).flip(0)


class RotateView(View):
    """A clockwise rotation by 90, 180 or 270 degrees; 90 and 270 need square images."""

    def __init__(self, degrees: int) -> None:
        super().__init__()
        if degrees not in (90, 180, 270):
            raise VidstyleInputError(f"rotations are 90, 180 or 270 degrees, got {degrees}")
        self.degrees = degrees
        self.name = f"rotate_{degrees}"

    def check_size(self, height: int, width: int) -> None:
        if self.degrees != 180:
            _require_square(self, height, width)

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        # torch.rot90 with k > 0 turns counter-clockwise on (rows, cols); clockwise is negative k
        return torch.rot90(_grid(height, width), -self.degrees // 90, dims=(0, 1))


class PatchPermuteView(View):
    """A seeded shuffle of the ``p x p`` patches (``H`` and ``W`` multiples of ``p``, at least two patches)."""

    name = "patch_permute"

    def __init__(self, patch: int = 8, seed: int = 0) -> None:
        super().__init__()
        if patch < 1:
            raise VidstyleInputError(f"view patch_permute: the patch size must be >= 1, got {patch}")
        self.patch, self.seed = patch, seed

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.patch}"

    def check_size(self, height: int, width: int) -> None:
        p = self.patch
        if height % p or width % p or (height // p) * (width // p) < 2:
            raise VidstyleInputError(f"view {self.spec} needs a size made of at least two {p}x{p} patches "
                                     f"(multiples of {p}), got {height}x{width}")

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        p, rows, cols = self.patch, height // self.patch, width // self.patch
        patches = _grid(height, width).view(rows, p, cols, p).permute(0, 2, 1, 3).reshape(rows * cols, p, p)
        shuffled = patches[_seeded_perm(rows * cols, self.seed)]
        return shuffled.view(rows, cols, p, p).permute(0, 2, 1, 3).reshape(height, width)


class PixelPermuteView(View):
    """A seeded shuffle of all pixels."""

    name = "pixel_permute"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        return _grid(height, width).reshape(-1)[_seeded_perm(height * width, self.seed)].view(height, width)


class JigsawView(View):
    """A square-piece jigsaw: the image cut into ``g x g`` square pieces, reassembled in another fixed order.

    As in Visual Anagrams' 4x4 puzzle, pieces keep their kind: corners go to corners, edge pieces to edge
    positions, inner pieces to inner positions (a seeded shuffle within each kind). Border pieces are turned so
    that their outer sides stay outside (a top-left corner moved to the top-right is turned 90 degrees
    clockwise); inner pieces get a seeded turn. Needs a square image whose side is a multiple of ``g``.
    """

    name = "jigsaw"

    def __init__(self, pieces: int = 4, seed: int = 0) -> None:
        super().__init__()
        if pieces < 2:
            raise VidstyleInputError(f"view jigsaw: the puzzle needs at least 2x2 pieces, got {pieces}")
        self.pieces, self.seed = pieces, seed

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.pieces}"

    def check_size(self, height: int, width: int) -> None:
        _require_square(self, height, width)
        if height % self.pieces:
            raise VidstyleInputError(f"view {self.spec} needs a side that is a multiple of {self.pieces}, "
                                     f"got {height}x{width}")

    def _turns(self, row: int, col: int) -> int:
        """Quarter turns clockwise from the canonical (top / top-left) orientation of a border position."""
        last = self.pieces - 1
        corners = {(0, 0): 0, (0, last): 1, (last, last): 2, (last, 0): 3}
        if (row, col) in corners:
            return corners[row, col]
        return 0 if row == 0 else 1 if col == last else 2 if row == last else 3

    def _plan(self) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
        """``(destination, source, clockwise quarter turns)`` for every piece."""
        g, last = self.pieces, self.pieces - 1
        positions = [(r, c) for r in range(g) for c in range(g)]

        def kind(pos: tuple[int, int]) -> int:
            return sum(p in (0, last) for p in pos)  # 2 corner, 1 edge, 0 inner

        generator = torch.Generator().manual_seed(self.seed)
        plan = []
        for k in (2, 1, 0):
            group = [p for p in positions if kind(p) == k]
            order = _seeded_perm(len(group), self.seed + k)
            for dest, src_index in zip(group, order.tolist(), strict=True):
                src = group[src_index]
                turns = (self._turns(*dest) - self._turns(*src)) % 4 if k else int(
                    torch.randint(4, (1,), generator=generator))
                plan.append((dest, src, turns))
        return plan

    def _source_grid(self, height: int, width: int) -> torch.Tensor:
        side = height // self.pieces
        grid, out = _grid(height, width), torch.empty(height, width, dtype=torch.long)
        for (dr, dc), (sr, sc), turns in self._plan():
            piece = grid[sr * side:(sr + 1) * side, sc * side:(sc + 1) * side]
            out[dr * side:(dr + 1) * side, dc * side:(dc + 1) * side] = torch.rot90(piece, -turns, dims=(0, 1))
        return out


VIEW_NAMES = ("identity", "flip", "rotate_90", "rotate_180", "rotate_270", "jigsaw", "patch_permute",
              "pixel_permute")


def make_view(spec: str, seed: int = 0) -> View:
    """One view from its text: a name of :data:`VIEW_NAMES`, ``jigsaw:G`` (``G x G`` pieces, default 4) or
    ``patch_permute:P`` (``P x P`` patches, default 8); ``seed`` fixes the shuffled views' permutations."""
    name, _, param = spec.strip().partition(":")
    if name not in VIEW_NAMES:
        raise VidstyleInputError(f"unknown view {spec.strip()!r}; choose from: {', '.join(VIEW_NAMES)} "
                                 "(jigsaw:G and patch_permute:P take a size)")
    if param and name not in ("jigsaw", "patch_permute"):
        raise VidstyleInputError(f"view {name} takes no parameter, got {spec.strip()!r}")
    try:
        number = int(param) if param else None
    except ValueError:
        raise VidstyleInputError(f"view {name}: the parameter must be an integer, got {param!r}") from None
    if name == "jigsaw":
        return JigsawView(4 if number is None else number, seed=seed)
    if name == "patch_permute":
        return PatchPermuteView(8 if number is None else number, seed=seed)
    if name.startswith("rotate_"):
        return RotateView(int(name.removeprefix("rotate_")))
    if name == "pixel_permute":
        return PixelPermuteView(seed=seed)
    return IdentityView() if name == "identity" else FlipView()


def parse_views(specs: str | list[str], seed: int = 0, size: tuple[int, int] | None = None) -> list[View]:
    """Views from ``"identity,flip"`` (or a list of specs); refuses repeats and, given ``(H, W)``, sizes that a
    view cannot act on. Every error is a one-line :class:`VidstyleInputError`."""
    items = [s for s in (specs.split(",") if isinstance(specs, str) else specs) if s.strip()]
    if not items:
        raise VidstyleInputError("no views given; e.g. --views identity,flip")
    views = [make_view(item, seed=seed) for item in items]
    seen = [v.spec for v in views]
    repeated = sorted({s for s in seen if seen.count(s) > 1})
    if repeated:
        raise VidstyleInputError(f"view {repeated[0]} is given twice; each view must be different")
    if size is not None:
        for view in views:
            view.check_size(*size)
    return views
