"""Frees what no request will use again: expired files, and a crash's leftovers (blobs no row
points at, scratch files, jobs still "running", with their credits), and keeps the job log and the
sessions to their retention. `manage.py sweep_files` runs it once; the server runs it every
BGCUT_SWEEP_INTERVAL seconds in a daemon thread. One sweep runs at a time across every node.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

from engine import clock

logger = logging.getLogger(__name__)
_started = threading.Event()
_lock = threading.Lock()
# A fixed 64-bit key that other applications sharing the database are unlikely to use: b"bgcut-sw".
ADVISORY_LOCK_KEY = int.from_bytes(b"bgcut-sw", "big") - 2**63
CACHE_LOCK_KEY = "bgcut:sweeper-lock"


@dataclass(frozen=True)
class SweepReport:
    expired_files: int
    orphan_blobs: int
    orphan_bytes: int
    scratch_files: int
    scratch_bytes: int
    jobs_failed: int
    credits_refunded: Decimal
    jobs_deleted: int = 0

    def __str__(self) -> str:
        return (f"{self.expired_files} expired files, {self.orphan_blobs} orphan blobs ({self.orphan_bytes:,} bytes), "
                f"{self.scratch_files} scratch files ({self.scratch_bytes:,} bytes) freed; {self.jobs_failed} "
                f"abandoned jobs marked failed and {self.credits_refunded:.2f} credits given back; "
                f"{self.jobs_deleted} jobs past retention deleted")

    @property
    def anything(self) -> bool:
        return any((self.expired_files, self.orphan_blobs, self.scratch_files, self.jobs_failed, self.jobs_deleted))


def sweep_run(*, now: datetime | None = None, grace_seconds: float | None = None) -> SweepReport | None:
    """One sweep, or None when another process (on any node) is sweeping now.

    Leftovers count only once older than the grace (BGCUT_SWEEP_GRACE_SECONDS), which no live
    request reaches, so a publish or a call still in flight is never touched.
    """
    from engine.files import expired_files_free, orphan_blobs_free
    from engine.jobs import jobs_delete_finished_before, jobs_fail_abandoned

    with sweep_lock() as held:
        if not held:
            return None
        now = now or clock.now()
        grace = settings.BGCUT_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
        cutoff = now - timedelta(seconds=grace)
        expired = expired_files_free(now=now)
        orphans, orphan_bytes = orphan_blobs_free(stored_before=cutoff)
        scratch, scratch_bytes = scratch_free(modified_before=cutoff)
        jobs, refunded = jobs_fail_abandoned(started_before=cutoff)
        old_jobs = jobs_delete_finished_before(now - timedelta(days=settings.BGCUT_JOB_RETENTION_DAYS))
        sessions_clear_expired()
    return SweepReport(expired_files=expired, orphan_blobs=orphans, orphan_bytes=orphan_bytes,
                       scratch_files=scratch, scratch_bytes=scratch_bytes, jobs_failed=jobs,
                       credits_refunded=refunded, jobs_deleted=old_jobs)


@contextmanager
def sweep_lock() -> Iterator[bool]:
    """Yields whether this process may sweep now; never waits.

    PostgreSQL: a session advisory lock, which the server drops if this process dies. Elsewhere:
    an entry added to the cache (atomic in every backend; shared across nodes with Redis) that
    expires after BGCUT_SWEEP_GRACE_SECONDS, so a sweeper that died holding it blocks no one for long.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return
    token = uuid.uuid4().hex
    held = cache.add(CACHE_LOCK_KEY, token, timeout=settings.BGCUT_SWEEP_GRACE_SECONDS)
    try:
        yield held
    finally:
        if held and cache.get(CACHE_LOCK_KEY) == token:
            cache.delete(CACHE_LOCK_KEY)


def sessions_clear_expired() -> None:
    """What `manage.py clearsessions` does: expired sessions go (their lifetime is SESSION_COOKIE_AGE)."""
    store: type[SessionBase] = import_string(settings.SESSION_ENGINE + ".SessionStore")
    try:
        store.clear_expired()
    except NotImplementedError:  # cookie sessions: nothing is stored on our side
        pass


def scratch_dirs() -> list[Path]:
    """Our scratch folder and Django's folder for uploads in progress (often the same)."""
    from engine.files import storage_tmp_dir

    folders = [storage_tmp_dir()]
    if settings.FILE_UPLOAD_TEMP_DIR:
        folders.append(Path(settings.FILE_UPLOAD_TEMP_DIR))
    unique = {folder.resolve(): folder for folder in folders if folder.is_dir()}
    return list(unique.values())


def scratch_free(*, modified_before: datetime) -> tuple[int, int]:
    """Delete scratch entries untouched since `modified_before`: (files, bytes).

    An upload in progress writes its file with every chunk, and our scratch folders live only
    for the length of one publish, so an entry older than the grace belongs to a dead worker.
    """
    limit = modified_before.timestamp()
    count = freed = 0
    for folder in scratch_dirs():
        for entry in folder.iterdir():
            try:
                files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
                if max([os.stat(p).st_mtime for p in [entry, *files]]) >= limit:
                    continue
                size = sum(os.stat(p).st_size for p in files)
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            except OSError:
                continue  # another process is cleaning up too
            count, freed = count + len(files), freed + size
    return count, freed


def sweeper_ensure_running() -> None:
    """Start the sweeper once per process, on the first API request (not in management commands)."""
    if _started.is_set() or settings.BGCUT_SWEEP_INTERVAL <= 0:
        return
    with _lock:
        if _started.is_set():
            return
        threading.Thread(target=_loop, name="bgcut-sweeper", daemon=True).start()
        _started.set()


def _loop() -> None:
    while settings.BGCUT_SWEEP_INTERVAL > 0:  # turning the setting off stops the thread
        time.sleep(settings.BGCUT_SWEEP_INTERVAL)
        try:
            report = sweep_run()
            if report is not None and report.anything:
                logger.info("Swept: %s", report)
        except Exception:
            logger.exception("File sweep failed; will retry")
        finally:
            close_old_connections()
    connection.close()  # kept between sweeps on a database server (CONN_MAX_AGE); not once the loop ends
    _started.clear()
