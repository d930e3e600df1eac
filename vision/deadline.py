"""A request's time budget, visible to every stage of vision code that runs on its behalf.

The budget lives in a context variable rather than in every signature: it belongs to the request,
and the stages that must honour it (model passes, AI Cut's loops) sit several calls below the
engine. Outside a `deadline_scope` there is no budget and every check passes.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator


class DeadlineExceeded(Exception):
    """The work ran past its budget and was stopped before it finished."""


_deadline: ContextVar[float | None] = ContextVar("vision_deadline", default=None)


@contextmanager
def deadline_scope(at: float) -> Iterator[None]:
    """Run the block under a budget that ends at `at` (a time.monotonic() value)."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_remaining() -> float | None:
    """Seconds left in the current budget (0 when spent), or None when no budget is set."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


def deadline_check() -> None:
    """Called between stages: past the budget, stop before starting more work."""
    remaining = deadline_remaining()
    if remaining is not None and remaining <= 0.0:
        raise DeadlineExceeded("the time budget ran out")
