"""The file space endpoints, through the HTTP API."""
from __future__ import annotations

import pytest

from tests.images import image_bytes, upload_file

pytestmark = pytest.mark.django_db


def upload(client, *named: tuple[str, bytes], upload_path="proj", **extra):
    files = [upload_file(name, data) for name, data in named]
    return client.post("/v3/file-ops/upload/", {"files": files, "upload_path": upload_path, **extra}, format="multipart")


def test_it_stores_an_upload_under_the_chosen_folder_with_the_detected_extension(acme):
    _, _, client = acme
    response = upload(client, ("holiday photo.png", image_bytes("JPEG")))
    assert response.status_code == 200, response.json()
    assert response.json() == {"file_paths": ["proj/holiday-photo.jpg"]}
    download = client.get("/v3/files/proj/holiday-photo.jpg")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/jpeg"
    assert b"".join(download.streaming_content) == image_bytes("JPEG")


def test_it_accepts_several_files_in_one_upload_and_keeps_same_named_ones_apart(acme):
    _, _, client = acme
    response = upload(client, ("a.png", image_bytes("PNG")), ("a.png", image_bytes("PNG", color=(1, 2, 3))),
                      ("b.webp", image_bytes("WEBP")), ("c.avif", image_bytes("AVIF")))
    assert response.json()["file_paths"] == ["proj/a.png", "proj/a-2.png", "proj/b.webp", "proj/c.avif"]


def test_it_accepts_the_key_dialect(acme):
    _, _, client = acme
    response = client.post("/v3/file-ops/upload/", {"file": upload_file("x.jpg", image_bytes()), "key": "k/photo.jpg"},
                           format="multipart")
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert client.get("/v3/files/k/photo.jpg").status_code == 200


def test_it_refuses_a_key_whose_extension_disagrees_with_the_content(acme):
    _, _, client = acme
    response = client.post("/v3/file-ops/upload/", {"file": upload_file("x.jpg", image_bytes("PNG")), "key": "k/p.jpg"},
                           format="multipart")
    assert response.status_code == 400
    assert ".png" in response.json()["detail"]


def test_it_refuses_a_non_image_named_jpg_with_415(acme):
    response = upload(acme[2], ("evil.jpg", b"<?php echo 1; ?>" * 10))
    assert response.status_code == 415
    assert "evil.jpg" in response.json()["detail"]


def test_it_refuses_a_truncated_image_and_writes_nothing(acme):
    _, _, client = acme
    whole = image_bytes("JPEG", size=(400, 300))
    response = upload(client, ("ok.png", image_bytes("PNG")), ("cut.jpg", whole[: len(whole) // 2]))
    assert response.status_code == 415
    assert "truncated" in response.json()["detail"]
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": []}


def test_it_refuses_a_decompression_bomb_before_decoding(acme, settings):
    settings.BGCUT_MAX_INPUT_PIXELS = 1000
    response = upload(acme[2], ("big.png", image_bytes("PNG", size=(100, 100))))
    assert response.status_code == 413
    assert "1,000 pixels" in response.json()["detail"]


def _png_of_exact_size(total: int) -> bytes:
    """A valid PNG padded after IEND to exactly `total` bytes (decoders ignore trailing bytes)."""
    head = image_bytes("PNG", size=(8, 8))
    return head + b"\0" * (total - len(head))


def test_a_file_of_exactly_50_mb_is_accepted_and_one_byte_more_is_a_413(acme):
    _, _, client = acme
    limit = 50 * 1024 * 1024
    assert upload(client, ("max.png", _png_of_exact_size(limit))).status_code == 200
    response = upload(client, ("over.png", _png_of_exact_size(limit + 1)))
    assert response.status_code == 413
    assert "50 MB" in response.json()["detail"]
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["proj/max.png"]}


def test_an_upload_without_files_is_a_400_saying_what_to_send(acme):
    response = acme[2].post("/v3/file-ops/upload/", {"upload_path": "x"}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()["detail"]


def test_list_info_usage_copy_and_delete(acme):
    _, _, client = acme
    upload(client, ("a.jpg", image_bytes(size=(64, 48))), ("b.png", image_bytes("PNG")))
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["proj/a.jpg", "proj/b.png"]}
    assert client.get("/v3/file-ops/list/", {"pattern": "proj/*.png"}).json() == {"file_paths": ["proj/b.png"]}
    info = client.get("/v3/file-ops/info/", {"file_path": "proj/a.jpg"}).json()
    assert (info["content_type"], info["width"], info["height"]) == ("image/jpeg", 64, 48)
    assert info["size"] == len(image_bytes(size=(64, 48)))
    usage = client.get("/v3/file-ops/usage/").json()
    assert usage["file_count"] == 2
    assert usage["used_bytes"] == len(image_bytes(size=(64, 48))) + len(image_bytes("PNG"))
    assert usage["quota_bytes"] == 10 * 1000**3
    copy = client.post("/v3/file-ops/copy/", {"source_path": "proj/a.jpg", "destination_path": "other/a.jpg"},
                       format="json")
    assert copy.status_code == 200
    assert client.get("/v3/files/other/a.jpg").status_code == 200
    assert client.post("/v3/file-ops/delete/", {"file_path": "proj/a.jpg"}, format="json").json() == {"success": True}
    assert client.get("/v3/files/proj/a.jpg").status_code == 404
    assert client.get("/v3/files/other/a.jpg").status_code == 200, "a copy outlives its source's deletion"
    missing = client.post("/v3/file-ops/delete/", {"file_path": "proj/never.jpg"}, format="json")
    assert missing.status_code == 200
    gone = client.post("/v3/file-ops/delete-folder/", {"folder_path": "proj"}, format="json")
    assert gone.json() == {"deleted_count": 1}
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["other/a.jpg"]}


def test_deleting_frees_the_bytes_on_disk(acme, settings):
    _, _, client = acme
    upload(client, ("a.jpg", image_bytes()))
    blobs = settings.BGCUT_STORAGE_ROOT / "blobs"
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == 1
    client.post("/v3/file-ops/delete/", {"file_path": "proj/a.jpg"}, format="json")
    assert [p for p in blobs.rglob("*") if p.is_file()] == []


def test_replacing_a_file_leaves_the_new_one_whole_and_frees_the_old(acme, settings):
    _, _, client = acme
    upload(client, ("a.jpg", image_bytes(color=(1, 1, 1))))
    upload(client, ("a.jpg", image_bytes(color=(250, 250, 250))))
    body = b"".join(client.get("/v3/files/proj/a.jpg").streaming_content)
    assert body == image_bytes(color=(250, 250, 250))
    assert len([p for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()]) == 1


def test_a_missing_file_is_a_404_that_suggests_uploading_again(acme):
    response = acme[2].get("/v3/file-ops/info/", {"file_path": "proj/nope.jpg"})
    assert response.status_code == 404
    assert "Upload it again" in response.json()["detail"]


def test_the_quota_is_enforced_with_507_and_nothing_written(make_account, key_client):
    account, raw = make_account("tiny", quota_bytes=len(image_bytes()) + 10)
    client = key_client(raw)
    assert upload(client, ("a.jpg", image_bytes())).status_code == 200
    response = upload(client, ("b.jpg", image_bytes()))
    assert response.status_code == 507
    assert "quota" in response.json()["detail"]
    assert upload(client, ("a.jpg", image_bytes())).status_code == 200, "replacing a file reuses its space"
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["proj/a.jpg"]}


def test_the_rate_limit_answers_429_with_retry_after_and_headers(acme, settings):
    settings.BGCUT_RATE_LIMIT = "3/min"
    _, _, client = acme
    responses = [client.get("/v3/file-ops/usage/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0]["X-RateLimit-Limit"] == "3"
    assert responses[0]["X-RateLimit-Remaining"] == "2"
    assert int(responses[0]["X-RateLimit-Reset"]) > 0
    assert 1 <= int(responses[3]["Retry-After"]) <= 60
    assert "Retry" in responses[3].json()["detail"] or "retry" in responses[3].json()["detail"]


class TestExpiry:
    def test_a_file_expires_two_hours_after_upload_at_the_latest(self, acme, clock):
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()), expires_in_hours=5)
        info = client.get("/v3/file-ops/info/", {"file_path": "proj/a.jpg"}).json()
        assert info["expires_at"].startswith("2026-11-24T14:00:00")
        clock.advance(hours=1, minutes=59)
        assert client.get("/v3/files/proj/a.jpg").status_code == 200
        clock.advance(minutes=1)
        assert client.get("/v3/files/proj/a.jpg").status_code == 404
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": []}
        assert client.get("/v3/file-ops/usage/").json()["used_bytes"] == 0

    def test_expires_in_hours_can_shorten_the_lifetime(self, acme, clock):
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()), expires_in_hours=1)
        clock.advance(hours=1)
        assert client.get("/v3/files/proj/a.jpg").status_code == 404

    @pytest.mark.parametrize("hours", ["0", "-1", "soon", "nan"])
    def test_a_bad_expires_in_hours_is_a_400(self, acme, hours):
        response = upload(acme[2], ("a.jpg", image_bytes()), expires_in_hours=hours)
        assert response.status_code == 400
        assert "expires_in_hours" in response.json()["detail"]

    def test_the_sweeper_frees_expired_bytes(self, acme, clock, settings):
        from django.core.management import call_command

        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()))
        clock.advance(hours=2)
        call_command("sweep_files")
        assert [p for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()] == []

    def test_a_copy_keeps_the_source_expiry(self, acme, clock):
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()))
        clock.advance(hours=1)
        client.post("/v3/file-ops/copy/", {"source_path": "proj/a.jpg", "destination_path": "c/a.jpg"}, format="json")
        clock.advance(hours=1)
        assert client.get("/v3/files/c/a.jpg").status_code == 404


class TestPublicUrls:
    def test_a_public_url_needs_no_header_and_expires(self, acme, clock, settings):
        settings.BGCUT_PUBLIC_URL_TTL = 600
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()))
        response = client.post("/v3/file-ops/get-public-url/", {"key": "proj/a.jpg"}, format="json")
        assert response.status_code == 200
        url = response.json()["url"]
        from django.test import Client

        anonymous = Client()
        assert anonymous.get(url).status_code == 200
        clock.advance(seconds=600)
        assert anonymous.get(url).status_code == 404

    def test_a_public_url_never_outlives_its_file(self, acme, clock, settings):
        settings.BGCUT_PUBLIC_URL_TTL = 600
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()), expires_in_hours=0.05)  # three minutes
        url = client.post("/v3/file-ops/get-public-url/", {"file_path": "proj/a.jpg"}, format="json").json()["url"]
        clock.advance(minutes=3)
        from django.test import Client

        assert Client().get(url).status_code == 404

    def test_a_public_url_dies_with_a_deleted_or_replaced_file(self, acme):
        from django.test import Client

        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()))
        url = client.post("/v3/file-ops/get-public-url/", {"key": "proj/a.jpg"}, format="json").json()["url"]
        upload(client, ("a.jpg", image_bytes(color=(0, 0, 0))))
        assert Client().get(url).status_code == 404

    def test_a_tampered_public_url_is_a_404(self, acme):
        from django.test import Client

        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()))
        url = client.post("/v3/file-ops/get-public-url/", {"key": "proj/a.jpg"}, format="json").json()["url"]
        assert Client().get(url[:-3] + "abc").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_server_sweeps_expired_files_by_itself(acme, settings, monkeypatch):
    import threading
    import time

    from engine import sweeper
    from engine.models import StoredFile

    _, _, client = acme
    upload(client, ("a.jpg", image_bytes()), expires_in_hours=0.0001)  # expires in under half a second
    settings.BGCUT_SWEEP_INTERVAL = 0.05
    monkeypatch.setattr(sweeper, "_started", sweeper.threading.Event())
    client.get("/v3/file-ops/usage/")  # the first API request starts the sweeper thread
    deadline = time.monotonic() + 10
    while StoredFile.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not StoredFile.objects.exists()
    assert [p for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()] == []
    settings.BGCUT_SWEEP_INTERVAL = 0  # lets the thread end: wait for it, before the setting is restored
    for thread in threading.enumerate():
        if thread.name == "bgcut-sweeper":
            thread.join(10)
            assert not thread.is_alive()


class TestFolderMatching:
    def test_delete_folder_matches_the_folder_name_exactly_and_case_sensitively(self, acme):
        _, _, client = acme
        for folder in ("photos", "Photos", "PHOTOS", "photos2", "photos.old", "photos/inner"):
            assert upload(client, ("a.jpg", image_bytes()), upload_path=folder).status_code == 200
        gone = client.post("/v3/file-ops/delete-folder/", {"folder_path": "photos"}, format="json")
        assert gone.json() == {"deleted_count": 2}
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": [
            "PHOTOS/a.jpg", "Photos/a.jpg", "photos.old/a.jpg", "photos2/a.jpg",
        ]}

    def test_delete_folder_treats_like_wildcards_as_plain_characters(self, acme):
        _, _, client = acme
        for folder in ("a_b", "axb", "a-b"):
            upload(client, ("a.jpg", image_bytes()), upload_path=folder)
        assert client.post("/v3/file-ops/delete-folder/", {"folder_path": "a_b"}, format="json").json() == {
            "deleted_count": 1}
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["a-b/a.jpg", "axb/a.jpg"]}

    def test_a_list_pattern_is_case_sensitive(self, acme):
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes()), upload_path="photos")
        upload(client, ("a.jpg", image_bytes()), upload_path="Photos")
        assert client.get("/v3/file-ops/list/", {"pattern": "photos/*"}).json() == {"file_paths": ["photos/a.jpg"]}

    def test_paths_differing_only_in_case_are_different_files(self, acme):
        _, _, client = acme
        upload(client, ("a.jpg", image_bytes(color=(1, 1, 1))), upload_path="p")
        upload(client, ("a.jpg", image_bytes(color=(250, 250, 250))), upload_path="P")
        assert b"".join(client.get("/v3/files/p/a.jpg").streaming_content) == image_bytes(color=(1, 1, 1))
        client.post("/v3/file-ops/delete/", {"file_path": "P/a.jpg"}, format="json")
        assert client.get("/v3/files/p/a.jpg").status_code == 200


class TestQuotaCountsBytesOnDisk:
    def test_files_that_expired_but_were_not_swept_still_count_against_the_quota(
        self, make_account, key_client, clock, settings
    ):
        size = len(image_bytes())
        account, raw = make_account("tiny", quota_bytes=3 * size)
        client = key_client(raw)
        statuses = []
        for n in range(11):
            statuses.append(upload(client, (f"f{n}.jpg", image_bytes()), expires_in_hours=0.001).status_code)
            clock.advance(seconds=5)  # each file has expired before the next upload
        blobs = [p for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()]
        assert sum(p.stat().st_size for p in blobs) <= 3 * size, "the disk never holds more than the quota"
        assert statuses.count(200) >= 3

    def test_a_refusal_explains_that_expired_files_count_until_they_are_freed(self, make_account, key_client, clock,
                                                                            monkeypatch):
        from engine import files

        size = len(image_bytes())
        account, raw = make_account("tiny", quota_bytes=size + 10)
        client = key_client(raw)
        assert upload(client, ("a.jpg", image_bytes()), expires_in_hours=0.001).status_code == 200
        clock.advance(minutes=1)
        # The expired file's bytes are still on disk (say a reader holds them, or the free failed).
        monkeypatch.setattr(files, "expired_files_free", lambda **kwargs: 0)
        response = upload(client, ("b.jpg", image_bytes()))
        assert response.status_code == 507
        assert "expired" in response.json()["detail"]
        assert client.get("/v3/file-ops/usage/").json()["used_bytes"] == 0, "usage shows live files only"

    def test_an_expired_file_is_freed_at_the_next_write_so_its_space_can_be_reused(
        self, make_account, key_client, clock, settings
    ):
        size = len(image_bytes())
        account, raw = make_account("tiny", quota_bytes=size + 10)
        client = key_client(raw)
        upload(client, ("a.jpg", image_bytes()), expires_in_hours=0.001)
        clock.advance(minutes=1)
        assert upload(client, ("b.jpg", image_bytes())).status_code == 200
        blobs = [p for p in (settings.BGCUT_STORAGE_ROOT / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == 1
