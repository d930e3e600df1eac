"""Prometheus metrics through prometheus_client: HTTP requests per route, and `/metrics` to read them.

Labels are the URL *route* (`v3/files/<path:path>`), never the raw path, so file names cannot
multiply the series. Several gunicorn workers write to PROMETHEUS_MULTIPROC_DIR (the library's
multi-process mode; `gunicorn.conf.py` sets it up) and `/metrics` merges every worker's files.
Values owned by other parts (the inference queue, AI Cut's cache) are read by *samplers* those parts
register: each runs before a scrape and, in multi-process mode, every few seconds in each worker.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # every URL that no route matched shares one label value

http_requests = Counter(
    "bgcut_http_requests_total", "HTTP requests answered, by route, method and status code.",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "bgcut_http_request_duration_seconds", "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

_samplers: list[Callable[[], None]] = []
_sampling = threading.Event()
SAMPLE_SECONDS = 5.0


def multiprocess_enabled() -> bool:
    # prometheus_client itself reads this variable when it is first imported: we follow it.
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def sampler_register(sampler: Callable[[], None]) -> None:
    """Run `sampler` (it sets gauges / counters from its own state) before each scrape and periodically."""
    if sampler not in _samplers:
        _samplers.append(sampler)


def samplers_run() -> None:
    for sampler in _samplers:
        sampler()


def _sampling_ensure() -> None:
    """In multi-process mode each worker samples its own state every few seconds (a scrape reaches one)."""
    if _sampling.is_set() or not multiprocess_enabled():
        return
    _sampling.set()

    def loop():
        while True:
            time.sleep(SAMPLE_SECONDS)
            samplers_run()

    threading.Thread(target=loop, name="bgcut-metrics-sampler", daemon=True).start()


def route_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match and match.route else UNMATCHED


class MetricsMiddleware:
    """Counts and times every request under its route (resolved by the time the response exists)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _sampling_ensure()
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_label(request)
        method = request.method if request.method in METHODS else "other"
        http_requests.labels(route, method, str(response.status_code)).inc()
        http_duration.labels(route, method).observe(time.perf_counter() - started)
        return response


def _scrape_allowed(request) -> bool:
    """With BGCUT_METRICS_TOKEN set, a matching bearer token; without it, loopback callers only."""
    token = settings.BGCUT_METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_view(request):
    """The Prometheus text format: this process's metrics, or every worker's in multi-process mode."""
    if not _scrape_allowed(request):
        return JsonResponse(
            {"detail": "Metrics are readable from this machine only, or with the BGCUT_METRICS_TOKEN bearer token."},
            status=403,
        )
    samplers_run()
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
