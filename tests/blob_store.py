"""What the tests see of the blob store, on whichever backend `storages["blobs"]` is."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from engine import blobs

_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


def disk_path(name: str) -> Path:
    """Where a blob lies on local disk (the default backend only)."""
    return Path(blobs.blob_storage().path(blobs.blob_key(name)))


def stored_blobs() -> dict[str, int]:
    """Every blob in the store, by name, with its size: listed, as the sweeper lists them."""
    return dict(blobs.blobs_older_than(_FAR_FUTURE))


def blob_bytes(name: str) -> bytes:
    with blobs.blob_open(name) as handle:
        return handle.read()
