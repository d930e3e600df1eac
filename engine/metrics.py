"""The engine's Prometheus metrics: inference queue depth, AI Cut cache hits and misses, credits charged.

HTTP request counts and latencies are lib/metrics.py's. The queue and the cache keep their own plain
counters (vision/ knows nothing of Prometheus); a sampler copies them here before each scrape.
"""
from __future__ import annotations

import threading
from decimal import Decimal

from prometheus_client import Counter, Gauge

from lib.metrics import sampler_register

inference_queue_depth = Gauge(
    "bgcut_inference_queue_depth", "Tool calls inside the inference gate (running or waiting), per node.",
    multiprocess_mode="livesum",
)
aicut_cache_hits = Counter("bgcut_aicut_cache_hits_total", "AI Cut per-image cache lookups that found the value.")
aicut_cache_misses = Counter("bgcut_aicut_cache_misses_total", "AI Cut per-image cache lookups that computed it.")
credits_charged = Counter("bgcut_credits_charged_total", "Credits charged for tool calls that succeeded.")

_lock = threading.Lock()
_seen = {"cache": None, "hits": 0, "misses": 0}


def credits_charged_add(amount: Decimal) -> None:
    credits_charged.inc(float(amount))


def engine_sample() -> None:
    """Copy the gate's depth and the AI Cut cache's new hits and misses into the metrics."""
    from engine import inference

    inference_queue_depth.set(inference.inference_gate().depth)
    if not inference.aicut.cache_info().currsize:
        return  # no AI Cut call yet in this process: nothing to count, and nothing to build
    cache = inference.aicut().cache
    with _lock:
        if _seen["cache"] is not cache:  # a new AICut (settings changed): its counters start at zero
            _seen.update(cache=cache, hits=0, misses=0)
        hits, misses = cache.hits, cache.misses
        aicut_cache_hits.inc(hits - _seen["hits"])
        aicut_cache_misses.inc(misses - _seen["misses"])
        _seen.update(hits=hits, misses=misses)


sampler_register(engine_sample)
