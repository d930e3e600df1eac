"""Handing freed heap memory back to the operating system (glibc), so a big request's peak does not stay."""
from __future__ import annotations

import ctypes
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None


def memory_trim() -> None:
    """Release free heap pages: glibc keeps what a model pass or a 12 MP render freed as process memory.

    Without this, each thread's malloc arena holds on to its largest request's buffers, and the worker's
    resident size climbs to the sum of them (measured in bench/memory.py).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
