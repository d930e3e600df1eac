"""AI Cut's per-image cache in two tiers: this process's LRU in front, a cache every node reaches behind it.

What a model pass made for one image (SAM's embedding, the previous click's low-resolution mask, the
salient prior) is worth sharing: with it, a click that lands on another worker or node costs a decoder
pass, not an encoder pass, and refines the same mask. Only those kinds of key go behind; everything else
(cheap derived data, scipy graphs) stays in the process. Shared values travel through vision/array_codec.py,
and every node works from the decoded form, the one that is stored and given back, so a click gives the
same answer on whichever node it lands.

The shared store is injected (engine/inference.py passes Django's cache when it is shared): anything with
`get(key)`, `set(key, value, timeout=seconds)`, an atomic `add` and `delete`. Its failures never fail a click:
they are logged and counted, and the value is computed here as if it had never been stored. A value two
nodes ask for at once is computed by one of them (SharedTierCache._compute).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vision.aicut_cache import ByteLRU
from vision.array_codec import array_decode, array_encode
from vision.deadline import deadline_check

log = logging.getLogger(__name__)

KEY_PREFIX = "aicut:v1"  # bump when the keys or the codec change: old entries are then never read
# How long a node may hold the claim to compute a shared value (an encoder pass: 0.6-4 s on 2 cores) before
# a waiting node computes it itself, and how often a waiting node looks for the value.
CLAIM_SECONDS = 30
WAIT_POLL_SECONDS = 0.05


class SharedStore(Protocol):
    """The part of Django's cache API the shared tier uses."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None = ...) -> Any: ...

    def add(self, key: str, value: Any, timeout: float | None = ...) -> bool: ...

    def delete(self, key: str) -> Any: ...


@dataclass(frozen=True)
class SharedTier:
    """Where a segmenter shares its model outputs, and for how long (no longer than the images live)."""

    store: SharedStore
    ttl_seconds: int


class SharedTierCache(ByteLRU):
    """A ByteLRU that also keeps the arrays of `shared_kinds` (a key's first item) in `shared`, for `ttl_seconds`.

    Counters for the metrics: `hits` / `misses` as in ByteLRU (a value found behind is a hit: nothing
    was computed), `shared_hits` of those found behind, `shared_errors` of reads and writes that failed.
    """

    def __init__(self, *, max_bytes: int, shared: SharedStore, shared_kinds: Iterable[str], ttl_seconds: int):
        super().__init__(max_bytes=max_bytes)
        self.shared = shared
        self.shared_kinds = frozenset(shared_kinds)
        self.ttl_seconds = ttl_seconds
        self.shared_hits = 0
        self.shared_errors = 0
        self.shared_waits = 0
        self._count_lock = threading.Lock()

    def shared_key(self, key: Hashable) -> str | None:
        """The shared store's key for `key` (its kind, then a digest of the rest), or None when it stays here."""
        if not (isinstance(key, tuple) and key and key[0] in self.shared_kinds):
            return None
        # The rest holds the model's name, the image's content hash and, for masks, the clicks: value
        # objects whose repr is the same in every process.
        return f"{KEY_PREFIX}:{key[0]}:{hashlib.sha256(repr(key[1:]).encode()).hexdigest()[:40]}"

    def _fetch_behind(self, key: Hashable) -> Any | None:
        name = self.shared_key(key)
        if name is None:
            return None
        try:
            data = self.shared.get(name)
            value = None if data is None else array_decode(data)
        except Exception as error:  # the store is down, slow or holds something unreadable: compute here
            self._failed("read", name, error)
            return None
        if value is not None:
            with self._count_lock:
                self.shared_hits += 1
            self._keep(key, value)
        return value

    def _compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Compute a shared kind once for all nodes: the first to claim it computes, the others wait for it.

        Two nodes asked for the same photo at once (the editor's prepare on one, its first click on another)
        would otherwise both run the encoder. The claim is a key next to the value, taken atomically (`add`)
        and lasting CLAIM_SECONDS, so a node that dies while computing holds it no longer than that. A waiting
        node reads the value as soon as it is there, stops waiting when the claim is gone without one (the
        computing node failed) or after CLAIM_SECONDS, and then computes the value itself; the request's
        deadline (vision/deadline.py) ends the wait like any other stage. A store that fails means no claim.
        """
        name = self.shared_key(key)
        if name is None:
            return super()._compute(key, compute)
        claim = f"{name}:computing"
        claimed = self._claim(claim)
        try:
            if claimed is False:
                value = self._wait_for(key, claim=claim)
                if value is not None:
                    return value
            return super()._compute(key, compute)
        finally:
            if claimed:
                self._release(claim)

    def _claim(self, claim: str) -> bool | None:
        """True: this node computes; False: another node is computing; None: the store failed (compute here)."""
        try:
            return bool(self.shared.add(claim, 1, timeout=CLAIM_SECONDS))
        except Exception as error:
            self._failed("claim", claim, error)
            return None

    def _release(self, claim: str) -> None:
        try:
            self.shared.delete(claim)
        except Exception as error:  # it lapses after CLAIM_SECONDS anyway
            self._failed("release", claim, error)

    def _wait_for(self, key: Hashable, *, claim: str) -> Any | None:
        """The value another node is computing, once it is stored; None when it will not come."""
        with self._count_lock:
            self.shared_waits += 1
        until = time.monotonic() + CLAIM_SECONDS
        while time.monotonic() < until:
            deadline_check()
            time.sleep(WAIT_POLL_SECONDS)
            value = self._fetch_behind(key)
            if value is not None:
                return value
            try:
                if self.shared.get(claim) is None:
                    return None  # released without a value: the other node failed
            except Exception as error:
                self._failed("read", claim, error)
                return None
        return None

    def _store_behind(self, key: Hashable, value: Any) -> Any:
        name = self.shared_key(key)
        if name is None:
            return value
        if not isinstance(value, np.ndarray):
            raise TypeError(f"the shared kind {key[0]!r} holds arrays, not {type(value).__name__}")
        data = array_encode(value)
        try:
            self.shared.set(name, data, timeout=self.ttl_seconds)
        except Exception as error:
            self._failed("write", name, error)
        # Keep what another node will decode, not the original: every node then answers a click alike.
        return array_decode(data)

    def _failed(self, action: str, name: str, error: Exception) -> None:
        with self._count_lock:
            self.shared_errors += 1
        log.warning("AI Cut shared cache %s of %s failed (%s: %s); computing locally",
                    action, name, type(error).__name__, error)


def aicut_cache_build(*, max_bytes: int, shared: SharedTier | None, shared_kinds: Iterable[str]) -> ByteLRU:
    """A segmenter's per-image cache: a plain ByteLRU when nothing is shared (one process: nothing to
    serialise), else a SharedTierCache keeping `shared_kinds` in `shared` too."""
    if shared is None:
        return ByteLRU(max_bytes=max_bytes)
    return SharedTierCache(max_bytes=max_bytes, shared=shared.store, shared_kinds=shared_kinds,
                           ttl_seconds=shared.ttl_seconds)
