"""The file space on both blob backends: local disk, and a real S3-compatible server (SeaweedFS).

Each test runs twice (see the `blob_backend` fixture); what the store holds is read by listing it,
the way the sweeper does, so "no orphan bytes" means the same on both.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from boto3.s3.transfer import TransferConfig

from engine import blobs, files, tools
from engine.models import StoredFile
from engine.sweeper import sweep_run
from tests.blob_store import blob_bytes, stored_blobs
from tests.engine.test_tools import REMOVE_BG, fake_store, photo_bytes, put  # noqa: F401 (fixture)
from tests.images import image_bytes, upload_file
from tests.threads import threads_at_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("blob_backend")]


def upload(client, name="a.jpg", data=None, folder="proj", **extra):
    response = client.post("/v3/file-ops/upload/", {"files": [upload_file(name, data or image_bytes())],
                                                    "upload_path": folder, **extra}, format="multipart")
    assert response.status_code == 200, response.json()
    return response.json()["file_paths"][0]


def download(client, path) -> bytes:
    response = client.get(f"/v3/files/{path}")
    assert response.status_code == 200, response.json()
    return b"".join(response.streaming_content)


def live_blobs() -> set[str]:
    return set(StoredFile.objects.values_list("blob", flat=True))


def test_an_upload_is_stored_downloaded_whole_and_described(acme, blob_backend, settings):
    _, _, client = acme
    data = image_bytes(size=(640, 480))
    path = upload(client, "photo.jpg", data)
    assert download(client, path) == data
    info = client.get("/v3/file-ops/info/", {"file_path": path}).json()
    assert (info["size"], info["width"], info["height"]) == (len(data), 640, 480)
    assert stored_blobs() == {StoredFile.objects.get().blob: len(data)}
    on_disk = (settings.BGCUT_STORAGE_ROOT / "blobs").is_dir()
    assert on_disk == (blob_backend == "disk"), "S3 blobs never touch the local blob folder"


def test_a_copy_is_its_own_blob_and_outlives_its_source(acme):
    _, _, client = acme
    data = image_bytes("PNG")
    upload(client, "a.png", data)
    copy = client.post("/v3/file-ops/copy/", {"source_path": "proj/a.png", "destination_path": "other/a.png"},
                       format="json")
    assert copy.status_code == 200, copy.json()
    client.post("/v3/file-ops/delete/", {"file_path": "proj/a.png"}, format="json")
    assert download(client, "other/a.png") == data
    assert set(stored_blobs()) == live_blobs() and len(live_blobs()) == 1


def test_a_copy_of_a_file_deleted_after_its_lookup_is_a_404(acme, monkeypatch):
    account, _, client = acme
    upload(client, "a.png", image_bytes("PNG"))
    real_get = files.file_get

    def deleted_after_lookup(**kwargs):
        found = real_get(**kwargs)
        files.file_delete(account=account, path="proj/a.png")
        return found

    monkeypatch.setattr(files, "file_get", deleted_after_lookup)
    response = client.post("/v3/file-ops/copy/", {"source_path": "proj/a.png", "destination_path": "b/a.png"},
                           format="json")
    assert response.status_code == 404
    assert stored_blobs() == {}


def test_delete_and_delete_folder_free_the_bytes_in_the_store(acme):
    _, _, client = acme
    upload(client, "keep.jpg", folder="keep")
    for n in range(3):
        upload(client, f"x{n}.jpg", image_bytes(color=(n, n, n)), folder="proj")
    client.post("/v3/file-ops/delete/", {"file_path": "proj/x0.jpg"}, format="json")
    gone = client.post("/v3/file-ops/delete-folder/", {"folder_path": "proj"}, format="json")
    assert gone.json() == {"deleted_count": 2}
    assert set(stored_blobs()) == live_blobs() and len(live_blobs()) == 1


def test_an_expired_file_is_a_404_at_once_and_the_sweep_frees_its_bytes(acme, clock):
    _, _, client = acme
    path = upload(client, expires_in_hours=1)
    clock.advance(hours=1)
    assert client.get(f"/v3/files/{path}").status_code == 404
    report = sweep_run()
    assert report.expired_files == 1
    assert stored_blobs() == {}


def test_the_sweep_frees_orphan_blobs_past_the_grace_and_keeps_the_rest(acme, settings, tmp_path):
    from engine import blobs

    account, _, client = acme
    upload(client)
    source = tmp_path / "orphan"
    source.write_bytes(b"o" * 1234)
    orphan, _, _ = blobs.blob_put(source=source)  # a worker died before committing its row
    assert sweep_run().orphan_blobs == 0, "a young orphan may be a publish in flight"
    later = sweep_run(now=files.clock.now() + timedelta(seconds=settings.BGCUT_SWEEP_GRACE_SECONDS + 60))
    assert (later.orphan_blobs, later.orphan_bytes) == (1, 1234)
    assert set(stored_blobs()) == live_blobs() and orphan not in stored_blobs()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_path_leave_one_whole_file_and_no_other_bytes(make_account):
    account, _ = make_account("racer")
    payloads = [bytes([n]) * (100_000 + n) for n in range(6)]

    def write(data):
        files.file_write_bytes(account=account, path="race/out.png", data=data, content_type="image/png")

    _, errors = threads_at_once(write, [(data,) for data in payloads])
    assert errors == []
    stored = StoredFile.objects.get(account=account, path="race/out.png")
    assert blob_bytes(stored.blob) in payloads and stored.size == len(blob_bytes(stored.blob))
    assert stored_blobs() == {stored.blob: stored.size}, "replaced blobs are freed"


@pytest.mark.django_db(transaction=True)
def test_sweepers_running_at_once_free_everything_once_and_count_it_once(make_account, settings, tmp_path):
    from engine import blobs

    account, _ = make_account("acme")
    for n in range(5):
        files.file_write_bytes(account=account, path=f"e/{n}.png", data=b"e" * (1000 + n), content_type="image/png")
    kept = files.file_write_bytes(account=account, path="k.png", data=b"k" * 10, content_type="image/png")
    StoredFile.objects.exclude(pk=kept.pk).update(expires_at=files.clock.now() - timedelta(seconds=1))
    for n in range(4):
        source = tmp_path / f"orphan{n}"
        source.write_bytes(b"o" * 100)
        blobs.blob_put(source=source)
    later = files.clock.now() + timedelta(seconds=settings.BGCUT_SWEEP_GRACE_SECONDS + 60)
    StoredFile.objects.filter(pk=kept.pk).update(expires_at=later + timedelta(hours=1))
    reports, errors = threads_at_once(lambda: sweep_run(now=later), [()] * 4)
    assert errors == []
    assert len(reports) == 4
    done = [report for report in reports if report is not None]
    assert sum(r.expired_files for r in done) == 5
    assert (sum(r.orphan_blobs for r in done), sum(r.orphan_bytes for r in done)) == (4, 400)
    assert stored_blobs() == {kept.blob: 10}, "no orphan bytes left"


def test_tools_read_their_input_from_the_store_and_leave_no_scratch_copy(acme, fake_store):
    _, _, client = acme
    put(client, data=photo_bytes())
    response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                       "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
    assert response.status_code == 200, response.json()
    assert download(client, "o/a.png").startswith(b"\x89PNG")
    assert [p for p in files.storage_tmp_dir().iterdir()] == []


def test_a_tool_input_gone_from_the_store_is_a_404(acme):
    account, _, client = acme
    put(client, data=photo_bytes())
    stored = files.file_get(account=account, path="p/p.jpg")
    blobs.blob_delete(stored.blob, size=stored.size)
    with pytest.raises(Exception) as caught:
        tools._decode(stored)
    assert getattr(caught.value, "status", None) == 404
    assert client.get("/v3/files/p/p.jpg").status_code == 404


@pytest.mark.parametrize("blob_backend", ["s3"], indirect=True)
def test_readyz_fails_on_a_missing_bucket_until_blob_store_create_makes_it(client, settings, seaweedfs):
    from django.core.management import call_command

    settings.STORAGES["blobs"]["OPTIONS"]["bucket_name"] = "missing-" + uuid.uuid4().hex[:12]
    settings.STORAGES = {**settings.STORAGES}  # a new STORAGES: Django forgets the storage it built
    body = client.get("/readyz").json()
    assert body["checks"]["storage"].startswith("failed")
    call_command("blob_store_create")
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"


@contextmanager
def s3_operations():
    """The S3 operations this thread's client sends while the block runs, in order."""
    client = blobs.blob_storage().connection.meta.client
    sent: list[str] = []

    def record(model, **_):
        sent.append(model.name)

    client.meta.events.register("before-call.s3", record)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-call.s3", record)


@pytest.mark.parametrize("blob_backend", ["s3"], indirect=True)
def test_a_small_blob_is_one_request_in_and_one_out(tmp_path):
    source = tmp_path / "small"
    source.write_bytes(data := os.urandom(30_000))
    with s3_operations() as sent:
        name, size, _ = blobs.blob_put(source=source)
        assert blob_bytes(name) == data
        with blobs.blob_local(name, scratch=tmp_path) as local:
            assert local.read_bytes() == data
    assert size == len(data)
    assert sent == ["PutObject", "GetObject", "GetObject"], "no size lookup, no transfer manager"


@pytest.mark.parametrize("blob_backend", ["s3"], indirect=True)
def test_a_blob_over_the_multipart_threshold_goes_up_in_parts_and_comes_back_whole(tmp_path):
    storage = blobs.blob_storage()
    storage.transfer_config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    source = tmp_path / "big"
    source.write_bytes(data := os.urandom(6 * 2**20))
    with s3_operations() as sent:
        name, size, _ = blobs.blob_put(source=source)
    assert sent.count("UploadPart") == 2 and "CompleteMultipartUpload" in sent
    assert (size, blob_bytes(name)) == (len(data), data)
    with blobs.blob_local(name, scratch=tmp_path) as local:
        assert local.read_bytes() == data
    assert stored_blobs() == {name: len(data)}
