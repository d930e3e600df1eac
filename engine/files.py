"""The file space: per-account paths over immutable blobs, with a hard TTL and a quota."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Left

from engine import blobs, clock
from engine.errors import ApiError
from engine.models import Account, StoredFile


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

    Each source becomes an immutable blob; then one transaction swaps the rows. Readers see the
    old file or the new one, never a mix, and nothing on failure. A crash between the two leaves
    blobs no row points at: the sweeper frees those after a grace period.
    """
    now = clock.now()
    expires_at = expires_at or expiry_for(expires_in_hours=None, now=now)
    expired_files_free(account=account, now=now)  # their bytes count against the quota until freed
    staged: list[tuple[NewFile, str, int, str]] = []
    try:
        for new in new_files:
            try:
                blob, size, sha256 = blobs.blob_put(source=new.source)
            except FileNotFoundError:
                raise ApiError(404, f"{new.path!r} was not stored: its source was replaced or deleted while "
                                    "the request ran, or the upload stalled too long and was discarded. "
                                    "Send it again.")
            staged.append((new, blob, size, sha256))
        created, replaced = _rows_swap(account=account, staged=staged, now=now, expires_at=expires_at)
    except BaseException:
        for _, blob, _, _ in staged:
            blobs.blob_delete(blob)
        raise
    for blob in replaced:
        blobs.blob_delete(blob)
    return created


@transaction.atomic
def _rows_swap(*, account, staged, now, expires_at) -> tuple[list[StoredFile], list[str]]:
    """Point each path at its new blob; returns the new rows and the blobs they replaced."""
    Account.objects.select_for_update().filter(pk=account.pk).first()  # one writer per account
    paths = {new.path for new, *_ in staged}
    existing = {f.path: f for f in StoredFile.objects.filter(account=account, path__in=paths)}
    incoming = sum({new.path: size for new, _, size, _ in staged}.values())  # the last write to a path wins
    # The quota counts bytes on disk: an expired file's blob counts until it is freed.
    stored = StoredFile.objects.filter(account=account)
    on_disk = stored.aggregate(total=Sum("size"))["total"] or 0
    freed = sum(f.size for f in existing.values())
    quota = account.effective_quota_bytes
    if on_disk - freed + incoming > quota:
        expired = stored.filter(expires_at__lte=now).aggregate(total=Sum("size"))["total"] or 0
        pending = (f" {expired:,} bytes of that are expired files not yet freed from disk; they count until "
                   "the sweeper frees them, in a few minutes.") if expired else ""
        raise ApiError(
            507,
            f"Storage quota exceeded: this would use {on_disk - freed + incoming:,} of {quota:,} bytes."
            f"{pending} Delete files or wait for them to expire.",
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
    _rows_and_blobs_delete(StoredFile.objects.filter(account=account, path=path))


def folder_delete(*, account: Account, folder: str) -> int:
    """Delete every live file under `folder/`; expired ones go too but are not counted."""
    prefix = folder + "/"
    # LIKE (startswith) ignores case on SQLite; comparing the leading characters with = is exact
    # and case-sensitive on every database (deterministic collations compare equal only when equal).
    files = (StoredFile.objects.filter(account=account, path__startswith=prefix)
             .alias(head=Left("path", len(prefix))).filter(head=prefix))
    count = files.filter(expires_at__gt=clock.now()).count()
    _rows_and_blobs_delete(files)
    return count


def expired_files_free(*, now: datetime, account: Account | None = None) -> int:
    """Delete expired files (already 404s) and free their bytes: one account's, or everyone's."""
    expired = StoredFile.objects.filter(expires_at__lte=now)
    if account is not None:
        expired = expired.filter(account=account)
    return _rows_and_blobs_delete(expired)


def orphan_blobs_free(*, stored_before: datetime) -> tuple[int, int]:
    """Free blobs no row points at, stored before `stored_before`: (blobs, bytes).

    Only a crash between storing a blob and committing its row (or between deleting a row and its
    blob) leaves one; the caller picks a cutoff that no publish still in flight can be older than.
    """
    count = freed = 0
    for batch in _batches(blobs.blobs_older_than(stored_before), 500):
        referenced = set(StoredFile.objects.filter(blob__in=batch).values_list("blob", flat=True))
        for blob in batch:
            if blob not in referenced:
                count += 1
                freed += blobs.blob_delete(blob)
    return count, freed


def _batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows_and_blobs_delete(queryset) -> int:
    rows = list(queryset.values_list("pk", "blob"))
    if not rows:  # most calls: no write transaction at all
        return 0
    for batch in _batches(rows, 500):
        with transaction.atomic():
            StoredFile.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
        for _, blob in batch:  # a crash here leaves orphan blobs, which the sweeper frees
            blobs.blob_delete(blob)
    return len(rows)
