"""The STORAGES entry for blobs, from one setting: local disk by default, or an S3-compatible store."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_S3_QUERY = {"endpoint_url", "region"}


def blob_storage_config(*, url: str, root: Path, access_key: str = "", secret_key: str = "") -> dict:
    """`""` -> FileSystemStorage under root/blobs; `s3://bucket?endpoint_url=...&region=...` -> S3Storage.

    Keys live under `blobs/` in the bucket. Credentials come from their own settings (never the URL,
    which is logged and shown); without them boto3 looks in its usual places (environment, instance role).
    """
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(Path(root) / "blobs")}}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.path.strip("/"):
        raise ValueError(f"expected s3://bucket?endpoint_url=https://host:port&region=name, got {url!r}.")
    if parts.username or parts.password:
        raise ValueError("put the credentials in BGCUT_S3_ACCESS_KEY_ID and BGCUT_S3_SECRET_ACCESS_KEY, not the URL.")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - _S3_QUERY)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(_S3_QUERY))}.")
    options = {
        "bucket_name": parts.netloc,
        "location": "blobs",
        "endpoint_url": query.get("endpoint_url") or None,
        "region_name": query.get("region") or None,
        # Path-style addressing works on every S3-compatible server (SeaweedFS, MinIO, Ceph) and on AWS.
        "addressing_style": "path",
        "signature_version": "s3v4",
        "file_overwrite": True,  # blob names are random and never reused: skip the existence check
        "default_acl": None,
        "querystring_expire": 60,
    }
    if access_key or secret_key:
        options.update(access_key=access_key, secret_key=secret_key)
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
