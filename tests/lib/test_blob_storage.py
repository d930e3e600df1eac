"""BGCUT_STORAGE_URL: one setting picks local disk or an S3-compatible store, and a wrong one says why."""
from __future__ import annotations

from pathlib import Path

import pytest

from lib.blob_storage import blob_storage_config


def test_no_url_keeps_blobs_on_local_disk_under_the_storage_root():
    config = blob_storage_config(url="", root=Path("/srv/bgcut"))
    assert config == {"BACKEND": "django.core.files.storage.FileSystemStorage",
                      "OPTIONS": {"location": "/srv/bgcut/blobs"}}


def test_an_s3_url_names_the_bucket_endpoint_and_region_and_takes_credentials_apart():
    config = blob_storage_config(url="s3://media?endpoint_url=http://127.0.0.1:8333&region=eu-west-1",
                                 root=Path("/x"), access_key="AK", secret_key="SK")
    options = config["OPTIONS"]
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "media", "http://127.0.0.1:8333", "eu-west-1")
    assert (options["location"], options["access_key"], options["secret_key"]) == ("blobs", "AK", "SK")


@pytest.mark.parametrize("url, says", [
    ("http://bucket", "expected s3://bucket"),
    ("s3://", "expected s3://bucket"),
    ("s3://bucket/folder", "expected s3://bucket"),
    ("s3://key:secret@bucket", "BGCUT_S3_ACCESS_KEY_ID"),
    ("s3://bucket?endpoint=http://x", "unknown option(s) endpoint"),
])
def test_a_malformed_url_is_refused_with_a_sentence(url, says):
    with pytest.raises(ValueError, match=None) as refused:
        blob_storage_config(url=url, root=Path("/x"))
    assert says in str(refused.value)


def test_the_server_refuses_to_start_with_a_malformed_storage_url(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SECRET_KEY": "x" * 50, "BGCUT_STORAGE_URL": "s3://a/b", "BGCUT_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "BGCUT_STORAGE_URL: expected s3://bucket" in done.stderr
