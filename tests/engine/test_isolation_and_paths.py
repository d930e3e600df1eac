"""No path climbs out of an account's space, and no account sees another's files."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from engine.blobs import blob_key
from engine.errors import ApiError
from engine.paths import path_validate
from tests.images import image_bytes, upload_file

pytestmark = pytest.mark.django_db

BAD_PATHS = [
    "../secret.jpg", "a/../../b.jpg", "a/./b.jpg", "/etc/passwd", "a//b.jpg", "a//", "", ".", "..",
    "a\\..\\b.jpg", "a\\b.jpg", "a\0b.jpg", "a/b\x1f.jpg", "%2e%2e/x.jpg", "a/%2e%2e/x.jpg", "~/x.jpg",
    "a b.jpg", "x" * 513, ("s" * 129) + ".jpg", "C:/x.jpg", "a/b\n.jpg", "ü.jpg",
]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_every_path_taking_field_refuses_traversal_and_odd_paths(acme, bad):
    _, _, client = acme
    client.post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())], "upload_path": "ok"},
                format="multipart")
    calls = [
        client.post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())], "upload_path": bad},
                    format="multipart"),
        client.post("/v3/file-ops/upload/", {"file": upload_file("a.jpg", image_bytes()), "key": bad},
                    format="multipart"),
        client.get("/v3/file-ops/info/", {"file_path": bad}),
        client.post("/v3/file-ops/copy/", {"source_path": bad, "destination_path": "ok/b.jpg"}, format="json"),
        client.post("/v3/file-ops/copy/", {"source_path": "ok/a.jpg", "destination_path": bad}, format="json"),
        client.post("/v3/file-ops/delete/", {"file_path": bad}, format="json"),
        client.post("/v3/file-ops/delete-folder/", {"folder_path": bad}, format="json"),
        client.post("/v3/file-ops/get-public-url/", {"key": bad}, format="json"),
    ]
    for response in calls:
        assert response.status_code == 400, (bad, response.status_code, response.content)
        assert response.json()["detail"]
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["ok/a.jpg"]}


@pytest.mark.parametrize("url", ["/v3/files/a/%2e%2e/%2e%2e/x.jpg", "/v3/files/a%5Cb.jpg", "/v3/files/a/%00.jpg",
                                 "/v3/files/a//b.jpg", "/v3/files/.hidden/..", "/v3/files/%2e%2e"])
def test_downloads_refuse_encoded_traversal(acme, url):
    response = acme[2].get(url)
    assert response.status_code in (400, 404)
    assert response.json()["detail"]


def test_an_account_cannot_touch_another_accounts_files(make_account, key_client):
    _, key_a = make_account("alpha")
    _, key_b = make_account("beta")
    a, b = key_client(key_a), key_client(key_b)
    a.post("/v3/file-ops/upload/", {"files": [upload_file("s.jpg", image_bytes())], "upload_path": "p"},
           format="multipart")
    assert b.get("/v3/files/p/s.jpg").status_code == 404
    assert b.get("/v3/file-ops/info/", {"file_path": "p/s.jpg"}).status_code == 404
    assert b.get("/v3/file-ops/list/").json() == {"file_paths": []}
    assert b.get("/v3/file-ops/usage/").json()["file_count"] == 0
    assert b.post("/v3/file-ops/copy/", {"source_path": "p/s.jpg", "destination_path": "mine.jpg"},
                  format="json").status_code == 404
    assert b.post("/v3/file-ops/get-public-url/", {"key": "p/s.jpg"}, format="json").status_code == 404
    b.post("/v3/file-ops/delete/", {"file_path": "p/s.jpg"}, format="json")
    assert b.post("/v3/file-ops/delete-folder/", {"folder_path": "p"}, format="json").json() == {"deleted_count": 0}
    assert a.get("/v3/files/p/s.jpg").status_code == 200
    token = b.post("/v3/auth/access-token/", {}, format="json").json()["access_token"]
    from rest_framework.test import APIClient

    b_token = APIClient()
    b_token.credentials(HTTP_AUTHORIZATION=f"AccessToken {token}")
    assert b_token.get("/v3/files/p/s.jpg").status_code == 404


@hyp_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(candidate=st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.from_regex(r"[a-z./\\%0-9]{0,30}"))
def test_no_accepted_path_resolves_outside_the_space(candidate, tmp_path):
    """Whatever the path, an accepted one stays under a folder; and blobs never use it at all."""
    try:
        accepted = path_validate(candidate, field="p")
    except ApiError as error:
        assert error.status == 400
        return
    space = tmp_path / "space"
    resolved = (space / accepted).resolve()
    assert resolved.is_relative_to(space.resolve()) and resolved != space.resolve()
    assert blob_key("ab" * 16) == "ab/" + "ab" * 16
