"""The job log: one row per tool call, written whatever the outcome, and what the call was charged.

A job leaves "running" exactly once, by a conditional UPDATE: to "ok", or to "failed" with its
charge given back. The request itself does it, or the sweeper when the worker died mid-call.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from engine import clock
from engine.credits import credits_amount, credits_give_back, credits_take
from engine.metrics import credits_charged_add
from engine.errors import ApiError
from engine.models import Account, Job

logger = logging.getLogger(__name__)
SESSION_TOOL = "ai-cut"
# A person refining one selection clicks every few seconds; a pause this long starts a new session.
SESSION_GAP = timedelta(minutes=15)
WORKER_DIED = ("The worker process died during this call (it was killed or crashed), so nothing was "
               "written and its credits were given back: send the request again.")


@contextmanager
def job_record(*, account: Account, tool: str, parameters: dict, input_path: str = "", cost: Decimal = Decimal(0)):
    """Log a tool call and charge `cost` for it; a failed call is refunded. The block may fill
    `job.outputs` and `job.timings`."""
    started_at = clock.now()
    session = job_session_of(account=account, tool=tool, parameters=parameters, input_path=input_path,
                             started_at=started_at)
    job = Job.objects.create(account=account, tool=tool, parameters=parameters, input_path=input_path,
                             started_at=started_at, session=session)
    started = time.perf_counter()
    try:
        job_charge(job=job, amount=cost)
        yield job
    except BaseException as exc:
        job.duration_ms = round((time.perf_counter() - started) * 1000)
        job_close(job=job, status=Job.Status.FAILED,
                  http_status=exc.status if isinstance(exc, ApiError) else 500,
                  error=exc.detail if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}")
        raise
    else:
        job.duration_ms = round((time.perf_counter() - started) * 1000)
        if job_close(job=job, status=Job.Status.OK, http_status=200):
            credits_charged_add(job.credits_charged)
        else:
            logger.warning("Job %s finished after the sweeper had given it up; it stays refunded.", job.pk)


def job_session_of(*, account: Account, tool: str, parameters: dict, input_path: str,
                   started_at: datetime) -> int | None:
    """The AI Cut session a new call continues: that of the account's latest call on the same input and
    output, if it started less than SESSION_GAP ago; None starts a session (and every other tool's job).

    Each click sends every point so far to the same output, so this rule, unlike "the points extend the
    previous call's", keeps undo (fewer points) and a moved point in the session too.
    """
    if tool != SESSION_TOOL:
        return None
    previous = (
        Job.objects.filter(account=account, tool=tool, input_path=input_path,
                           parameters__output_path=parameters.get("output_path"),
                           started_at__gte=started_at - SESSION_GAP, started_at__lte=started_at)
        .order_by("-started_at", "-id").values_list("session", "id").first()
    )
    if previous is None:
        return None
    session, first_click = previous
    return session or first_click


def job_charge(*, job: Job, amount: Decimal) -> None:
    """Take the credits and record them on the job in one transaction, so a refund knows the sum."""
    amount = credits_amount(amount)
    if not amount:
        return
    with transaction.atomic():
        credits_take(account_id=job.account_id, amount=amount)
        Job.objects.filter(pk=job.pk).update(credits_charged=amount)
    job.credits_charged = amount


def job_refund(*, job: Job) -> None:
    """Give back what a still-running job was charged, for a call that succeeds without delivering what
    it charges for (an AI Cut that selects nothing); a later failure then has nothing left to refund."""
    with transaction.atomic():
        charged = Job.objects.select_for_update().values_list("credits_charged", flat=True).get(pk=job.pk)
        if charged:
            credits_give_back(account_id=job.account_id, amount=charged)
            Job.objects.filter(pk=job.pk).update(credits_charged=Decimal(0))
    job.credits_charged = Decimal(0)


def job_close(*, job: Job, status: str, http_status: int | None, error: str = "") -> bool:
    """Move a running job to `status` (a failure gives its charge back); False if it had left running."""
    with transaction.atomic():
        closed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=status, http_status=http_status, error=error, duration_ms=job.duration_ms,
            outputs=job.outputs, timings=job.timings,
        )
        if closed and status == Job.Status.FAILED:
            charged = Job.objects.values_list("credits_charged", flat=True).get(pk=job.pk)
            if charged:
                credits_give_back(account_id=job.account_id, amount=charged)
    if closed:
        job.status, job.http_status, job.error = status, http_status, error
    return bool(closed)


def jobs_fail_abandoned(*, started_before: datetime) -> tuple[int, Decimal]:
    """Fail the jobs still "running" that started before `started_before` (their worker died) and
    give their credits back: (jobs failed, credits given back)."""
    failed, refunded = 0, Decimal(0)
    for job in Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=started_before):
        if job_close(job=job, status=Job.Status.FAILED, http_status=None, error=WORKER_DIED):
            failed += 1
            refunded += job.credits_charged
    return failed, refunded


def jobs_delete_finished_before(cutoff: datetime) -> int:
    """Delete the log of calls that started before `cutoff` and have finished (BGCUT_JOB_RETENTION_DAYS)."""
    deleted, _ = Job.objects.filter(started_at__lt=cutoff).exclude(status=Job.Status.RUNNING).delete()
    return deleted
