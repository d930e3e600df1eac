"""Value objects shared by AI Cut's modules."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """A click in image pixels; `positive` means "include this"."""

    x: int
    y: int
    positive: bool
