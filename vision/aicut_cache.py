"""A thread-safe LRU cache bounded by the bytes of what it holds."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


def nbytes_estimate(value: Any) -> int:
    """Bytes held by `value`: arrays, and tuples/lists/dicts/dataclass-like objects of arrays."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(nbytes_estimate(item) for item in value) + 64
    if isinstance(value, dict):
        return sum(nbytes_estimate(item) for item in value.values()) + 64
    if hasattr(value, "__dict__"):
        return nbytes_estimate(vars(value))
    if hasattr(value, "__slots__"):
        return sum(nbytes_estimate(getattr(value, name, None)) for name in value.__slots__)
    if hasattr(value, "data") and hasattr(value, "indices"):  # scipy sparse matrix
        return int(value.data.nbytes + value.indices.nbytes + value.indptr.nbytes)
    return 64


class ByteLRU:
    """Least-recently-used mapping that evicts until its values fit in `max_bytes`."""

    def __init__(self, *, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # One lock per key being computed, so two threads never run the same model pass twice.
        self._pending: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable) -> Any | None:
        """The value for `key` or None; counted as a hit or a miss (the hit rate is a metric)."""
        with self._lock:
            value = self._lookup(key)
        if value is None:
            value = self._fetch_behind(key)  # outside the lock: a tier behind may be across the network
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        return value

    def _lookup(self, key: Hashable) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        self._keep(key, self._store_behind(key, value))

    def _fetch_behind(self, key: Hashable) -> Any | None:
        """The value from a tier behind this one (vision/aicut_shared.py), kept here too; None: there is none."""
        return None

    def _compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for a key no tier holds (the caller holds the key's lock): computed here, stored behind."""
        return self._store_behind(key, compute())

    def _store_behind(self, key: Hashable, value: Any) -> Any:
        """Hand `value` to a tier behind this one; returns the form to keep here (what that tier gives back)."""
        return value

    def _keep(self, key: Hashable, value: Any) -> None:
        size = nbytes_estimate(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return  # larger than the whole budget: computing it again beats evicting everything
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for `key`, computing and storing it once when absent."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            key_lock = self._pending.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another thread may have computed it meanwhile: not a second lookup to count
                value = self._lookup(key)
            if value is None:
                value = self._compute(key, compute)
                self._keep(key, value)
        with self._lock:
            self._pending.pop(key, None)
        return value
