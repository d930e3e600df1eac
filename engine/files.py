"""The file space: per-account paths over immutable blobs, with a hard TTL and a quota."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from engine import clock
from engine.errors import ApiError
from engine.models import Account, StoredFile, blob_path


@dataclass(frozen=True)
class Usage:
    used_bytes: int
    file_count: int
    quota_bytes: int

    @property
    def quota_used_pct(self) -> float:
        return round(100 * self.used_bytes / self.quota_bytes, 2) if self.quota_bytes else 100.0


def storage_tmp_dir() -> Path:
    """Scratch space on the blob store's filesystem, so finished files are renamed, not copied."""
    path = Path(settings.BGCUT_STORAGE_ROOT) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def expiry_for(*, expires_in_hours: float | None, now: datetime) -> datetime:
    """Files live at most BGCUT_FILE_TTL_HOURS; a shorter lifetime may be asked for."""
    cap = settings.BGCUT_FILE_TTL_HOURS
    hours = cap if expires_in_hours is None else min(expires_in_hours, cap)
    return now + timedelta(hours=hours)


def _live(account: Account):
    return StoredFile.objects.filter(account=account, expires_at__gt=clock.now())


def file_get(*, account: Account, path: str, field: str = "file_path") -> StoredFile:
    """The live file at `path`, or a 404 that says why it may be missing."""
    stored = _live(account).filter(path=path).first()
    if stored is None:
        raise ApiError(
            404,
            f"{field} {path!r} does not exist: it may have expired (files live at most 2 hours), "
            "been deleted, or never been uploaded. Upload it again.",
        )
    return stored


def usage_get(*, account: Account) -> Usage:
    totals = _live(account).aggregate(used=Sum("size"))
    return Usage(
        used_bytes=totals["used"] or 0,
        file_count=_live(account).count(),
        quota_bytes=account.effective_quota_bytes,
    )


def files_list(*, account: Account, pattern: str | None = None) -> list[StoredFile]:
    files = _live(account).order_by("path")
    return [f for f in files if pattern is None or fnmatchcase(f.path, pattern)]


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class NewFile:
    """A finished file in scratch space, ready to be published at `path`."""

    path: str
    source: Path
    content_type: str
    width: int | None = None
    height: int | None = None


def files_publish(
    *, account: Account, new_files: list[NewFile], expires_at: datetime | None = None
) -> list[StoredFile]:
    """Publish scratch files at their paths, all or none, within the quota.

    Each source is hard-linked (or copied) into an immutable blob; then one transaction swaps
    the rows. Readers see the old file or the new one, never a mix, and nothing on failure.
    """
    now = clock.now()
    expires_at = expires_at or expiry_for(expires_in_hours=None, now=now)
    staged: list[tuple[NewFile, str, int, str]] = []
    try:
        for new in new_files:
            blob = uuid.uuid4().hex
            destination = blob_path(blob)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(new.source, destination)
            except OSError:
                shutil.copyfile(new.source, destination)
            staged.append((new, blob, destination.stat().st_size, _sha256_of(destination)))
        created, replaced = _rows_swap(account=account, staged=staged, now=now, expires_at=expires_at)
    except BaseException:
        for _, blob, _, _ in staged:
            blob_path(blob).unlink(missing_ok=True)
        raise
    for blob in replaced:
        blob_path(blob).unlink(missing_ok=True)
    return created


@transaction.atomic
def _rows_swap(*, account, staged, now, expires_at) -> tuple[list[StoredFile], list[str]]:
    """Point each path at its new blob; returns the new rows and the blobs they replaced."""
    Account.objects.select_for_update().filter(pk=account.pk).first()  # one writer per account
    paths = {new.path for new, *_ in staged}
    existing = {f.path: f for f in StoredFile.objects.filter(account=account, path__in=paths)}
    live_existing = sum(f.size for f in existing.values() if f.expires_at > now)
    incoming = sum({new.path: size for new, _, size, _ in staged}.values())  # the last write to a path wins
    used = usage_get(account=account).used_bytes
    quota = account.effective_quota_bytes
    if used - live_existing + incoming > quota:
        raise ApiError(
            507,
            f"Storage quota exceeded: this would use {used - live_existing + incoming:,} of "
            f"{quota:,} bytes. Delete files or wait for them to expire.",
        )
    created, replaced = [], []
    for new, blob, size, sha256 in staged:
        old = existing.pop(new.path, None) or StoredFile.objects.filter(account=account, path=new.path).first()
        if old is not None:
            replaced.append(old.blob)
            old.delete()
        created.append(StoredFile.objects.create(
            account=account, path=new.path, blob=blob, size=size, content_type=new.content_type,
            width=new.width, height=new.height, sha256=sha256, created_at=now, expires_at=expires_at,
        ))
    return created, replaced


def file_write_bytes(
    *, account: Account, path: str, data: bytes, content_type: str, width: int | None = None,
    height: int | None = None,
) -> StoredFile:
    """Publish `data` at `path` (tool outputs), atomically."""
    return files_write_bytes(
        account=account,
        outputs=[(path, data, content_type, width, height)],
    )[0]


def files_write_bytes(*, account: Account, outputs: list[tuple[str, bytes, str, int | None, int | None]]):
    """Publish several outputs at once: all of them, or none."""
    with tempfile.TemporaryDirectory(dir=storage_tmp_dir()) as scratch:
        new_files = []
        for index, (path, data, content_type, width, height) in enumerate(outputs):
            source = Path(scratch) / str(index)
            source.write_bytes(data)
            new_files.append(NewFile(path=path, source=source, content_type=content_type, width=width, height=height))
        return files_publish(account=account, new_files=new_files)


def file_copy(*, account: Account, source_path: str, destination_path: str) -> StoredFile:
    """Copy a file; the copy keeps the source's expiry, so a copy never extends a file's life."""
    source = file_get(account=account, path=source_path, field="source_path")
    new = NewFile(
        path=destination_path, source=source.blob_path, content_type=source.content_type,
        width=source.width, height=source.height,
    )
    return files_publish(account=account, new_files=[new], expires_at=source.expires_at)[0]


def file_delete(*, account: Account, path: str) -> None:
    """Delete if present; deleting a missing file succeeds silently."""
    _blobs_delete(StoredFile.objects.filter(account=account, path=path))


def folder_delete(*, account: Account, folder: str) -> int:
    """Delete every live file under `folder/`; expired ones go too but are not counted."""
    files = StoredFile.objects.filter(account=account, path__startswith=folder + "/")
    count = files.filter(expires_at__gt=clock.now()).count()
    _blobs_delete(files)
    return count


def _blobs_delete(queryset) -> int:
    with transaction.atomic():
        blobs = list(queryset.values_list("blob", flat=True))
        queryset.delete()
    for blob in blobs:
        blob_path(blob).unlink(missing_ok=True)
    return len(blobs)


def files_sweep(*, now: datetime | None = None) -> int:
    """Free the bytes of expired files (they are already 404s) and stale scratch files."""
    now = now or clock.now()
    removed = _blobs_delete(StoredFile.objects.filter(expires_at__lte=now))
    horizon = now.timestamp() - 24 * 3600
    for entry in storage_tmp_dir().iterdir():
        try:
            if entry.stat().st_mtime < horizon:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except OSError:
            pass  # another process is cleaning up too
    return removed
