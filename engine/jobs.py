"""The job log: one row per tool call, written whatever the outcome."""
from __future__ import annotations

import time
from contextlib import contextmanager

from engine import clock
from engine.errors import ApiError
from engine.models import Account, Job


@contextmanager
def job_record(*, account: Account, tool: str, parameters: dict, input_path: str = ""):
    """Log a tool call; the block may fill `job.outputs` and `job.timings`."""
    job = Job.objects.create(
        account=account, tool=tool, parameters=parameters, input_path=input_path, started_at=clock.now()
    )
    started = time.perf_counter()
    try:
        yield job
    except BaseException as exc:
        job.status = Job.Status.FAILED
        job.http_status = exc.status if isinstance(exc, ApiError) else 500
        job.error = exc.detail if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        raise
    else:
        job.status = Job.Status.OK
        job.http_status = 200
    finally:
        job.duration_ms = round((time.perf_counter() - started) * 1000)
        job.save()
