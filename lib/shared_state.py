"""Whether the cache can hold state shared by every process that serves the site.

Rate limits, single-use embed tickets and locks live in Django's cache. A per-process cache
(local memory) silently multiplies each limit by the number of workers and lets a ticket be used
once per worker, so more than one worker or node with it is refused at start-up.
"""
from __future__ import annotations

# Backends whose entries are seen by one process only, or by the processes of one machine only.
PER_PROCESS = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")
PER_MACHINE = ("django.core.cache.backends.filebased.FileBasedCache",)


def shared_state_problem(*, cache_backend: str, workers: int, nodes: int) -> str | None:
    """A sentence saying why this set-up cannot share state, or None when it can."""
    if cache_backend in PER_PROCESS and (workers > 1 or nodes > 1):
        who = f"{workers} worker processes" if workers > 1 else f"BGCUT_NODES={nodes} nodes"
        return (
            f"{who} need a shared cache, but CACHE_URL is a per-process cache ({cache_backend.rsplit('.', 1)[-1]}): "
            "each process would count its own rate limits and accept each single-use ticket once. "
            "Set CACHE_URL=redis://HOST:6379/0, or run one worker (more threads instead: --threads)."
        )
    if cache_backend in PER_MACHINE and nodes > 1:
        return (
            f"BGCUT_NODES={nodes} nodes need a cache every machine reaches, but CACHE_URL is a file cache on "
            "this machine. Set CACHE_URL=redis://HOST:6379/0."
        )
    return None
