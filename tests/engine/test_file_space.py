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
