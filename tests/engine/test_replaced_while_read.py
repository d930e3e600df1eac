"""A file replaced or deleted while a request reads it is a 404 with a sentence, never a 500."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from engine import files, tools
from engine.models import Account
from tests.engine.test_tools import REMOVE_BG, fake_store, put  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def mask_png(width=320, height=240, left=100) -> bytes:
    mask = np.zeros((height, width), np.uint8)
    mask[:, :left] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    return buffer.getvalue()


def remove_bg_with_mask(client):
    return client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "mask_file_path": "p/mask.png",
                                   "output_variants": [{"output_file_path": "o/m.png"}]}, format="json")


def test_a_mask_overwritten_after_its_lookup_is_a_404_and_not_charged(acme, fake_store, monkeypatch):
    account, _, client = acme
    put(client)
    put(client, "mask.png", mask_png())
    before = Account.objects.get(pk=account.pk).credits
    real_mask_load = tools.mask_load

    def overwritten_first(path, **kwargs):
        # Another request replaces the mask between our lookup and our read: its old blob is freed.
        files.file_write_bytes(account=account, path="p/mask.png", data=mask_png(left=200), content_type="image/png")
        return real_mask_load(path, **kwargs)

    monkeypatch.setattr("engine.tools.mask_load", overwritten_first)
    response = remove_bg_with_mask(client)
    assert response.status_code == 404
    assert "p/mask.png" in response.json()["detail"] and "replaced" in response.json()["detail"]
    assert Account.objects.get(pk=account.pk).credits == before
    assert client.get("/v3/files/o/m.png").status_code == 404


def test_an_input_deleted_after_its_lookup_is_a_404(acme, fake_store, monkeypatch):
    account, _, client = acme
    put(client)
    real_decode = tools.image_decode

    def deleted_first(path, **kwargs):
        files.file_delete(account=account, path="p/p.jpg")
        return real_decode(path, **kwargs)

    monkeypatch.setattr("engine.tools.image_decode", deleted_first)
    response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                       "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
    assert response.status_code == 404
    assert "p/p.jpg" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_remove_bg_never_fails_with_a_500_while_another_thread_keeps_overwriting_its_mask(acme, fake_store):
    from django.db import connection

    account, _, client = acme
    put(client)
    put(client, "mask.png", mask_png())
    stop = threading.Event()
    writes = []

    def overwrite_forever():
        try:
            while not stop.is_set():
                files.file_write_bytes(account=account, path="p/mask.png", data=mask_png(left=50 + len(writes) % 200),
                                       content_type="image/png")
                writes.append(1)
        finally:
            connection.close()

    writer = threading.Thread(target=overwrite_forever)
    writer.start()
    try:
        statuses = [remove_bg_with_mask(client).status_code for _ in range(25)]
    finally:
        stop.set()
        writer.join(30)
    assert set(statuses) <= {200, 404}, statuses
    assert len(writes) > 25, "the writer really ran alongside"


def test_a_copy_whose_source_is_deleted_after_its_lookup_is_a_404(acme, monkeypatch):
    account, _, client = acme
    put(client)
    real_get = files.file_get

    def deleted_after_lookup(**kwargs):
        found = real_get(**kwargs)
        files.file_delete(account=account, path=found.path)
        return found

    monkeypatch.setattr(files, "file_get", deleted_after_lookup)
    response = client.post("/v3/file-ops/copy/", {"source_path": "p/p.jpg", "destination_path": "q/p.jpg"},
                           format="json")
    assert response.status_code == 404
    assert "q/p.jpg" in response.json()["detail"] and "Send it again" in response.json()["detail"]


def test_a_download_whose_file_is_replaced_after_its_lookup_is_a_404(acme, monkeypatch):
    account, _, client = acme
    put(client)
    real_get = files.file_get

    def replaced_after_lookup(**kwargs):
        found = real_get(**kwargs)
        files.file_write_bytes(account=account, path=found.path, data=b"new", content_type="image/jpeg")
        return found

    monkeypatch.setattr(files, "file_get", replaced_after_lookup)
    response = client.get("/v3/files/p/p.jpg")
    assert response.status_code == 404
    assert "replaced" in response.json()["detail"]
