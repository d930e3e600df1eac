"""The engine's Prometheus metrics: inference queue depth, AI Cut cache hits and misses, credits charged.

The AI Cut counters also say what the shared cache saved (shared hits), what it failed to do (errors)
and how often this node ran SAM's encoder, so an operator can see clicks crossing nodes cheaply.

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
aicut_shared_hits = Counter("bgcut_aicut_shared_cache_hits_total",
                            "AI Cut cache hits found in the cache shared by every node (another process computed it).")
aicut_shared_errors = Counter("bgcut_aicut_shared_cache_errors_total",
                              "AI Cut shared cache reads and writes that failed (the value was computed locally).")
aicut_shared_waits = Counter("bgcut_aicut_shared_cache_waits_total",
                             "AI Cut values another node was computing: waited for instead of computed twice.")
aicut_encoder_passes = Counter("bgcut_aicut_encoder_passes_total", "SAM encoder passes: images this node embedded.")
credits_charged = Counter("bgcut_credits_charged_total", "Credits charged for tool calls that succeeded.")

_lock = threading.Lock()
# What the sampler last copied from the segmenter's own counters (which only grow): the next copy adds the rest.
_COUNTED = {aicut_cache_hits: ("cache", "hits"), aicut_cache_misses: ("cache", "misses"),
            aicut_shared_hits: ("cache", "shared_hits"), aicut_shared_errors: ("cache", "shared_errors"),
            aicut_shared_waits: ("cache", "shared_waits"), aicut_encoder_passes: ("model", "encoder_passes")}
_seen: dict = {"segmenter": None}


def credits_charged_add(amount: Decimal) -> None:
    credits_charged.inc(float(amount))


def engine_sample() -> None:
    """Copy the gate's depth and the AI Cut cache's new hits and misses into the metrics."""
    from engine import inference

    inference_queue_depth.set(inference.inference_gate().depth)
    if not inference.aicut.cache_info().currsize:
        return  # no AI Cut call yet in this process: nothing to count, and nothing to build
    segmenter = inference.aicut()
    with _lock:
        if _seen["segmenter"] is not segmenter:  # a new segmenter (settings changed): its counters start at zero
            _seen.clear()
            _seen["segmenter"] = segmenter
        for metric, (part, counter) in _COUNTED.items():
            # Only a shared cache counts shared hits and errors; only SAM has an encoder.
            value = getattr(getattr(segmenter, part, None), counter, 0)
            metric.inc(value - _seen.get(metric, 0))
            _seen[metric] = value


sampler_register(engine_sample)
