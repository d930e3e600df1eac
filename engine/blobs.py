"""The blob store: immutable byte files under random names. Every read, write, delete and listing
of stored bytes goes through these few functions, so another backend can replace local disk here.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.conf import settings


def blob_path(name: str) -> Path:
    # Two levels of fan-out keep directories small; blob names are random hex, never user input.
    return Path(settings.BGCUT_STORAGE_ROOT) / "blobs" / name[:2] / name


def blob_put(*, source: Path) -> tuple[str, int, str]:
    """Store a finished file as a new blob: (name, size, sha256).

    The blob is stamped with the time it was stored, whatever the source's age, because the
    sweeper frees blobs that no row points at once they are older than a grace period.
    """
    name = uuid.uuid4().hex
    destination = blob_path(name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:  # another filesystem, or links not supported (a missing source fails here too)
        shutil.copyfile(source, destination)
    os.utime(destination)  # a hard link shares the source's (older) modification time
    return name, destination.stat().st_size, _sha256_of(destination)


def blob_open(name: str) -> BinaryIO:
    """The blob's bytes; FileNotFoundError once it has been deleted."""
    return open(blob_path(name), "rb")


def blob_delete(name: str) -> int:
    """Delete a blob; returns the bytes freed (0 when it was already gone)."""
    path = blob_path(name)
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


def blobs_older_than(cutoff: datetime) -> Iterator[str]:
    """Names of blobs stored before `cutoff`."""
    root = Path(settings.BGCUT_STORAGE_ROOT) / "blobs"
    if not root.is_dir():
        return
    limit = cutoff.timestamp()
    for fan in root.iterdir():
        for entry in os.scandir(fan):
            try:
                if entry.is_file() and entry.stat().st_mtime < limit:
                    yield entry.name
            except FileNotFoundError:
                pass  # deleted while we looked


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
