"""Stable seeds derived from names, so every process and platform draws the same plan."""

from __future__ import annotations

import hashlib


def derived_seed(*parts: object) -> int:
    """A stable 63-bit seed from ``parts`` (the same on every platform, process and Python run)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
