"""The blob store: immutable byte files under random names, in Django's `storages["blobs"]`.

Every read, write, copy, delete and listing of stored bytes goes through these few functions. The
default is local disk (FileSystemStorage under BGCUT_STORAGE_ROOT/blobs); BGCUT_STORAGE_URL=s3://...
puts them in an S3-compatible store (django-storages' S3Storage). Where the two differ (hard links
on disk, server-side copies and paginated listings on S3) the difference stays in this module.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

LISTING_PAGE = 1000  # keys per listing request on S3 (its maximum)
COPY_CHUNK = 1 << 20  # bytes read at a time when a blob is streamed to a local file


def blob_storage() -> Storage:
    return storages["blobs"]


def blob_key(name: str) -> str:
    # Two levels of fan-out keep directories small; blob names are random hex, never user input.
    return f"{name[:2]}/{name}"


def _local(storage: Storage) -> bool:
    return isinstance(storage, FileSystemStorage)


def blob_store_check(*, create: bool = False) -> None:
    """Raise unless the store can be used (for /readyz); `create` makes a missing bucket.

    A local folder is made whenever it is missing: FileSystemStorage would make it on the first write anyway.
    """
    storage = blob_storage()
    if _local(storage):
        Path(storage.location).mkdir(parents=True, exist_ok=True)
        return
    client = storage.connection.meta.client
    try:
        client.head_bucket(Bucket=storage.bucket_name)
    except Exception as error:
        if not (create and _s3_missing(error)):
            raise
        client.create_bucket(Bucket=storage.bucket_name)


def blob_put(*, source: Path) -> tuple[str, int, str]:
    """Store a finished file as a new blob: (name, size, sha256).

    The blob is stamped with the time it was stored, whatever the source's age, because the
    sweeper frees blobs that no row points at once they are older than a grace period.
    """
    name = uuid.uuid4().hex
    storage = blob_storage()
    sha256, size = _sha256_of(source)
    if _local(storage):
        destination = Path(storage.path(blob_key(name)))
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)  # no copy on one filesystem
        except OSError:  # another filesystem, or links not supported (a missing source fails here too)
            shutil.copyfile(source, destination)
        os.utime(destination)  # a hard link shares the source's (older) modification time
    elif size <= storage.transfer_config.multipart_threshold:
        # One PUT, which is all boto3's transfer manager would send below its multipart threshold, without the
        # thread pool it starts and stops for every file (most of an upload's cost on S3 otherwise).
        with open(source, "rb") as handle:
            storage.connection.meta.client.put_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name),
                                                      Body=handle, **_s3_write_parameters(storage, name))
    else:  # big enough for a multipart upload in parallel parts
        with open(source, "rb") as handle:
            storage.save(blob_key(name), File(handle, name=name))
    return name, size, sha256


def blob_copy(name: str) -> str:
    """A new blob with the same bytes, copied inside the store; FileNotFoundError if `name` is gone."""
    new = uuid.uuid4().hex
    storage = blob_storage()
    if _local(storage):
        destination = Path(storage.path(blob_key(new)))
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.link(storage.path(blob_key(name)), destination)  # blobs never change, so a link is a copy
        os.utime(destination)
        return new
    client = storage.connection.meta.client
    with _s3_missing_is_file_not_found():
        client.copy_object(Bucket=storage.bucket_name, Key=_s3_key(storage, new),
                           CopySource={"Bucket": storage.bucket_name, "Key": _s3_key(storage, name)})
    return new


def blob_open(name: str) -> BinaryIO:
    """The blob's bytes as a stream (read in pieces, never whole); FileNotFoundError once deleted."""
    storage = blob_storage()
    if _local(storage):
        return open(storage.path(blob_key(name)), "rb")
    with _s3_missing_is_file_not_found():
        # The client, not `storage.bucket.Object(...)`: boto3 builds a resource class on every such call.
        return _s3_get(storage, name)["Body"]


@contextmanager
def blob_local(name: str, *, scratch: Path) -> Iterator[Path]:
    """A local file holding the blob, for decoders that read from a path.

    On disk that is the blob itself; from S3 it is streamed to a file in `scratch` (sizes are bounded
    by the upload limit) that is deleted afterwards, or by the sweeper if the worker dies.
    """
    storage = blob_storage()
    if _local(storage):
        yield Path(storage.path(blob_key(name)))
        return
    with tempfile.NamedTemporaryFile(dir=scratch, prefix="blob-", delete=True) as copy:
        # One streamed GET: boto3's download_fileobj would first ask for the size (a HEAD) and start a thread pool.
        with _s3_missing_is_file_not_found():
            body = _s3_get(storage, name)["Body"]
        with body:
            shutil.copyfileobj(body, copy, COPY_CHUNK)
        copy.flush()
        yield Path(copy.name)


def blob_delete(name: str, *, size: int | None = None) -> int:
    """Delete a blob; returns the bytes freed (0 when it was already gone).

    On S3 a delete does not say whether the key existed, so the caller passes the size it knows
    (from a row or a listing) instead of paying a request to look it up.
    """
    storage = blob_storage()
    if _local(storage):
        path = Path(storage.path(blob_key(name)))
        try:
            freed = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return freed
    if size is None:
        try:
            size = storage.size(blob_key(name))
        except FileNotFoundError:
            return 0
        except Exception as error:
            if _s3_missing(error):
                return 0
            raise
    storage.delete(blob_key(name))
    return size


def blobs_older_than(cutoff: datetime) -> Iterator[tuple[str, int]]:
    """(name, size) of every blob stored before `cutoff`, one bounded page of the listing at a time."""
    storage = blob_storage()
    if _local(storage):
        yield from _local_older_than(Path(storage.location), cutoff.timestamp())
        return
    pages = storage.connection.meta.client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket_name, Prefix=storage.location.strip("/") + "/",
        PaginationConfig={"PageSize": LISTING_PAGE},
    )
    for page in pages:
        for item in page.get("Contents", []):
            if item["LastModified"] < cutoff:
                yield item["Key"].rsplit("/", 1)[-1], item["Size"]


def _local_older_than(root: Path, limit: float) -> Iterator[tuple[str, int]]:
    if not root.is_dir():
        return
    for fan in os.scandir(root):
        if not fan.is_dir():
            continue
        for entry in os.scandir(fan.path):
            try:
                stat = entry.stat()
                if entry.is_file() and stat.st_mtime < limit:
                    yield entry.name, stat.st_size
            except FileNotFoundError:
                pass  # deleted while we looked


def _s3_key(storage, name: str) -> str:
    return f"{storage.location.strip('/')}/{blob_key(name)}"


def _s3_get(storage, name: str) -> dict:
    return storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name))


def _s3_write_parameters(storage, name: str) -> dict:
    """What S3Storage.save would send with the bytes: its object parameters, content type and ACL."""
    parameters = {"ContentType": storage.default_content_type, **storage.get_object_parameters(name)}
    if "ACL" not in parameters and storage.default_acl:
        parameters["ACL"] = storage.default_acl
    return parameters


def _s3_missing(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}


@contextmanager
def _s3_missing_is_file_not_found():
    try:
        yield
    except Exception as error:
        if _s3_missing(error):
            raise FileNotFoundError(str(error)) from error
        raise


def _sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
