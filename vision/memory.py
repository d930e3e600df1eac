"""glibc's allocator, tuned for big short-lived buffers: few arenas, and freed memory handed back to the system."""
from __future__ import annotations

import ctypes
import functools

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


@functools.lru_cache(maxsize=1)
def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): nothing to tune this way
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def memory_arenas_limit(count: int = 2) -> bool:
    """Cap glibc's malloc arenas for the threads created from now on (as MALLOC_ARENA_MAX would).

    Each thread that allocates while another holds the heap gets an arena of its own, up to 8 per
    core; a request's big buffers then spread over several arenas and the worker's peak grows with
    them. Two arenas: peak 1469 -> 1269 MB for a 12 MP remove-bg (bench/memory.py). True if set.
    """
    libc = _glibc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, count) == 1  # mallopt answers 1 on success


def memory_trim() -> None:
    """Release free heap pages: glibc keeps what a model pass or a 12 MP render freed as process memory.

    Without this, each thread's malloc arena holds on to its largest request's buffers, and the worker's
    resident size climbs to the sum of them (measured in bench/memory.py).
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
