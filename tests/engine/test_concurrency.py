"""Concurrent writers to one path leave one whole file, never a mix."""
from __future__ import annotations

import threading

import pytest

from engine import files
from engine.models import Account, StoredFile
from tests.blob_store import blob_bytes, stored_blobs


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_to_one_path_leave_one_whole_file(settings):
    from engine.keys import account_get_or_create

    account = account_get_or_create(name="racer")
    payloads = [bytes([n]) * (200_000 + n) for n in range(8)]
    errors = []

    def write(data):
        from django.db import connection

        try:
            files.file_write_bytes(account=account, path="race/out.png", data=data, content_type="image/png")
        except Exception as error:  # collected: the test fails on any
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    stored = StoredFile.objects.get(account=account, path="race/out.png")
    assert blob_bytes(stored.blob) in payloads
    assert stored.size == len(blob_bytes(stored.blob))
    assert list(stored_blobs()) == [stored.blob], "replaced blobs are freed"
    assert Account.objects.count() == 1
