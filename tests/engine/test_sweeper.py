"""The sweeper frees a crash's leftovers once they are older than the grace, and nothing in flight."""
from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from engine import blobs, files
from engine.jobs import WORKER_DIED, job_charge
from engine.models import Account, Job, StoredFile
from engine.sweeper import sweep_run
from tests.blob_store import disk_path
from tests.images import image_bytes
from tests.threads import threads_at_once

pytestmark = pytest.mark.django_db
HOUR = 3600


def blob_files(settings) -> set[str]:
    return {p.name for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()}


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def orphan_blob(tmp_path, *, seconds_old: float, data=b"x" * 1000) -> str:
    """What a worker killed between storing a blob and committing its row leaves behind."""
    source = tmp_path / f"source-{seconds_old}"
    source.write_bytes(data)
    name, _, _ = blobs.blob_put(source=source)
    age(disk_path(name), seconds_old)
    return name


def test_blobs_no_row_points_at_are_freed_once_older_than_the_grace(acme, settings, tmp_path):
    settings.BGCUT_SWEEP_GRACE_SECONDS = 900
    account, _, _ = acme
    kept = files.file_write_bytes(account=account, path="p/a.png", data=image_bytes("PNG"), content_type="image/png")
    age(disk_path(kept.blob), 2 * HOUR)  # an old blob that a row points at stays
    old = orphan_blob(tmp_path, seconds_old=901)
    young = orphan_blob(tmp_path, seconds_old=60)  # could still be a publish in flight
    report = sweep_run()
    assert (report.orphan_blobs, report.orphan_bytes) == (1, 1000)
    assert blob_files(settings) == {kept.blob, young}
    assert old not in blob_files(settings)


def test_a_copy_in_flight_of_an_old_file_survives_a_sweep(acme, settings, monkeypatch):
    """A hard link shares its source's old mtime: the new blob must look new, or a sweep between
    storing it and committing its row would free it under the copy."""
    account, _, client = acme
    source = files.file_write_bytes(account=account, path="p/a.png", data=image_bytes("PNG"), content_type="image/png")
    age(disk_path(source.blob), HOUR)
    real_swap = files._rows_swap

    def sweep_first(**kwargs):
        sweep_run()
        return real_swap(**kwargs)

    monkeypatch.setattr(files, "_rows_swap", sweep_first)
    copy = files.file_copy(account=account, source_path="p/a.png", destination_path="q/a.png")
    assert disk_path(copy.blob).read_bytes() == image_bytes("PNG")


def test_stale_scratch_files_and_folders_are_freed_and_fresh_ones_kept(settings):
    settings.BGCUT_SWEEP_GRACE_SECONDS = 900
    tmp = files.storage_tmp_dir()
    upload = tmp / "tmpabc.upload.jpg"
    upload.write_bytes(b"u" * 300)
    folder = tmp / "tmpdir1"
    folder.mkdir()
    (folder / "0").write_bytes(b"v" * 200)
    fresh = tmp / "tmpnew.upload.png"
    fresh.write_bytes(b"n")
    for path in (upload, folder / "0", folder):
        age(path, 1000)
    report = sweep_run()
    assert (report.scratch_files, report.scratch_bytes) == (2, 500)
    assert list(tmp.iterdir()) == [fresh]


def test_a_scratch_folder_with_a_file_still_being_written_is_kept(settings):
    settings.BGCUT_SWEEP_GRACE_SECONDS = 900
    folder = files.storage_tmp_dir() / "tmpbusy"
    folder.mkdir()
    (folder / "0").write_bytes(b"old")
    (folder / "1").write_bytes(b"new")
    age(folder / "0", 1000)
    age(folder, 1000)
    assert sweep_run().scratch_files == 0
    assert folder.exists()


def test_djangos_upload_temp_folder_is_swept_too_when_it_is_elsewhere(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    left = tmp_path / "uploads" / "tmpx.upload.png"
    left.write_bytes(b"z" * 10)
    age(left, settings.BGCUT_SWEEP_GRACE_SECONDS + 1)
    assert sweep_run().scratch_files == 1
    assert not left.exists()


def running_job(account, *, started_ago: timedelta, charged: str) -> Job:
    """What a worker killed mid-call leaves: a running job whose credits were taken."""
    job = Job.objects.create(account=account, tool="remove-bg", parameters={}, started_at=timezone.now() - started_ago)
    job_charge(job=job, amount=Decimal(charged))
    return job


def test_jobs_running_past_the_grace_are_failed_and_refunded_once(acme, settings):
    settings.BGCUT_SWEEP_GRACE_SECONDS = 900
    account, _, _ = acme
    before = Account.objects.get(pk=account.pk).credits
    dead = running_job(account, started_ago=timedelta(seconds=901), charged="1.00")
    alive = running_job(account, started_ago=timedelta(seconds=30), charged="0.10")
    assert Account.objects.get(pk=account.pk).credits == before - Decimal("1.10")
    report = sweep_run()
    assert (report.jobs_failed, report.credits_refunded) == (1, Decimal("1.00"))
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.error, dead.http_status) == ("failed", WORKER_DIED, None)
    assert alive.status == "running"
    assert Account.objects.get(pk=account.pk).credits == before - Decimal("0.10")
    assert sweep_run().jobs_failed == 0
    assert Account.objects.get(pk=account.pk).credits == before - Decimal("0.10"), "never refunded twice"


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_refund_an_abandoned_job_exactly_once(make_account, settings):
    settings.BGCUT_SWEEP_GRACE_SECONDS = 900
    account, _ = make_account("acme", credits=Decimal("5.00"))
    running_job(account, started_ago=timedelta(hours=1), charged="1.00")
    results, errors = threads_at_once(sweep_run, [()] * 4, timeout=30)
    assert errors == []
    assert len(results) == 4
    assert sum(report.jobs_failed for report in results if report is not None) == 1
    assert Account.objects.get(pk=account.pk).credits == Decimal("5.00")


def test_the_command_reports_what_it_freed_and_takes_a_grace_and_a_time(acme, settings, tmp_path, capsys):
    account, _, _ = acme
    orphan_blob(tmp_path, seconds_old=5)
    running_job(account, started_ago=timedelta(seconds=5), charged="1.00")
    files.file_write_bytes(account=account, path="p/a.png", data=image_bytes("PNG"), content_type="image/png")
    call_command("sweep_files")
    assert "0 expired files, 0 orphan blobs" in capsys.readouterr().out
    later = (timezone.now() + timedelta(hours=3)).isoformat()
    call_command("sweep_files", "--grace-seconds", "0", "--now", later)
    out = capsys.readouterr().out
    assert "1 expired files, 1 orphan blobs (1,000 bytes)" in out
    assert "1 abandoned jobs marked failed and 1.00 credits given back" in out
    assert StoredFile.objects.count() == 0 and blob_files(settings) == set()


def test_finished_jobs_past_the_retention_and_expired_sessions_are_deleted(acme, settings):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    settings.BGCUT_JOB_RETENTION_DAYS = 30
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    account, _, _ = acme
    now = timezone.now()
    old = Job.objects.create(account=account, tool="remove-bg", status="ok", started_at=now - timedelta(days=31))
    recent = Job.objects.create(account=account, tool="remove-bg", status="failed", started_at=now - timedelta(days=29))
    stuck = running_job(account, started_ago=timedelta(hours=1), charged="0")  # failed by this sweep, and kept
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-1)
    expired.save()
    live.save()
    report = sweep_run()
    assert report.jobs_deleted == 1
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, stuck.pk}
    assert not Job.objects.filter(pk=old.pk).exists()
    assert set(Session.objects.values_list("session_key", flat=True)) == {live.session_key}


def test_a_sweep_while_another_holds_the_lock_does_nothing(acme, settings, tmp_path, capsys):
    from django.db import connection

    from engine.sweeper import sweep_lock

    orphan_blob(tmp_path, seconds_old=2 * HOUR)
    holding, release, held = threading.Event(), threading.Event(), []

    def other_sweeper():  # another process's sweep: its own database session
        try:
            with sweep_lock() as got:
                held.append(got)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweeper)
    thread.start()
    try:
        assert holding.wait(30) and held == [True]
        assert sweep_run() is None
        call_command("sweep_files")
        assert "Another sweeper is running" in capsys.readouterr().out
    finally:
        release.set()
        thread.join(30)
    assert sweep_run().orphan_blobs == 1
