"""Through a real gunicorn: no header picks the view, and every bad request under /v3/ is a JSON 4xx."""
from __future__ import annotations

import json

import pytest
import requests

from tests.images import image_bytes


def _status_and_json(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), raw[:300]
    return status, json.loads(body), head


@pytest.fixture(scope="module")
def stocked(gunicorn_server):
    """The server's account holds secret/a.jpg; a token may touch /v3/files/* only."""
    response = requests.post(f"{gunicorn_server.base}/v3/file-ops/upload/", headers=gunicorn_server.auth,
                             files={"files": ("a.jpg", image_bytes())}, data={"upload_path": "secret"}, timeout=30)
    assert response.status_code == 200, response.text
    token = requests.post(f"{gunicorn_server.base}/v3/auth/access-token/", headers=gunicorn_server.auth,
                          json={"paths": ["/v3/files/*"]}, timeout=30).json()["access_token"]
    return {"Authorization": f"AccessToken {token}"}


def test_a_script_name_header_cannot_take_a_token_outside_its_scope(gunicorn_server, stocked):
    base = gunicorn_server.base
    listing = requests.get(f"{base}/v3/files/v3/file-ops/list/", headers={**stocked, "SCRIPT_NAME": "/v3/files"},
                           timeout=30)
    assert listing.status_code in (400, 404), listing.text
    assert "secret/a.jpg" not in listing.text
    wipe = requests.post(f"{base}/v3/files/v3/file-ops/delete-folder/", json={"folder_path": "secret"},
                         headers={**stocked, "SCRIPT_NAME": "/v3/files"}, timeout=30)
    assert wipe.status_code in (400, 404, 405), wipe.text
    assert "deleted_count" not in wipe.text
    assert requests.get(f"{base}/v3/files/secret/a.jpg", headers=stocked, timeout=30).status_code == 200
    # and the header does not move an unscoped call either: the URL that was sent is the one served
    moved = requests.get(f"{base}/v3/file-ops/list/", headers={**gunicorn_server.auth, "SCRIPT_NAME": "/v3"},
                         timeout=30)
    assert moved.status_code == 200 and "secret/a.jpg" in moved.json()["file_paths"]


def test_the_largest_token_there_is_fits_in_its_header(gunicorn_server, stocked):
    paths = [f"/v3/files/{i:02d}" + "x" * 242 + "/*" for i in range(32)]
    assert all(len(path) == 256 for path in paths)
    minted = requests.post(f"{gunicorn_server.base}/v3/auth/access-token/", headers=gunicorn_server.auth,
                           json={"paths": paths}, timeout=30)
    assert minted.status_code == 200, minted.text
    response = requests.get(f"{gunicorn_server.base}/v3/file-ops/usage/", timeout=30,
                            headers={"Authorization": f"AccessToken {minted.json()['access_token']}"})
    assert response.status_code == 403 and "/v3/file-ops/usage/" in response.json()["detail"]


@pytest.mark.parametrize("name, request_bytes, status", [
    ("a request line that is not HTTP", b"GARBAGE\r\n\r\n", 400),
    ("a Content-Length that is not a number",
     b"POST /v3/file-ops/copy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n", 400),
    ("a header name with a space", b"GET /v3/file-ops/list/ HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n", 400),
    ("a control character in a header",
     b"GET /v3/file-ops/list/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \x1c\r\n\r\n", 400),
    ("a request line over 4094 bytes", b"GET /v3/file-ops/list/?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("a header over 16 KB", b"GET /v3/file-ops/list/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n",
     431),
    ("more than 100 header fields",
     b"GET /v3/file-ops/list/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(101))
     + b"\r\n", 431),
    ("an unknown transfer coding",
     b"POST /v3/file-ops/copy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
])
def test_gunicorns_own_refusals_are_json(gunicorn_server, name, request_bytes, status):
    got, body, _ = _status_and_json(gunicorn_server.raw(request_bytes))
    assert got == status, name
    assert body["detail"], name


def test_an_authorization_of_only_unicode_whitespace_is_a_json_401(gunicorn_server):
    raw = gunicorn_server.raw(b"GET /v3/file-ops/usage/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              b"Authorization: \xa0\x85\xa0\r\n\r\n")
    status, body, _ = _status_and_json(raw)
    assert status == 401 and "Authorization" in body["detail"]


@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000])
def test_json_nested_a_thousand_levels_deep_is_a_400(gunicorn_server, body):
    response = requests.post(f"{gunicorn_server.base}/v3/file-ops/copy/", data=body, timeout=30,
                             headers={**gunicorn_server.auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_bodies_past_django_limits_are_json_4xx(gunicorn_server):
    base, auth = gunicorn_server.base, gunicorn_server.auth
    too_big = requests.post(f"{base}/v3/file-ops/copy/", json={"source_path": "x" * 3_000_000}, headers=auth,
                            timeout=30)
    assert too_big.status_code == 413 and "2.5 MB" in too_big.json()["detail"]
    files = requests.post(f"{base}/v3/file-ops/upload/", headers=auth, timeout=30, data={"upload_path": "p"},
                          files=[("files", (f"f{i}.jpg", b"x")) for i in range(101)])
    assert files.status_code == 400 and "100 files" in files.json()["detail"]
    fields = requests.post(f"{base}/v3/file-ops/upload/", headers=auth, timeout=30,
                           files=[("files", ("a.jpg", image_bytes()))], data=[(f"f{i}", "1") for i in range(1001)])
    assert fields.status_code == 400 and "1000 form fields" in fields.json()["detail"]
    form = requests.post(f"{base}/v3/file-ops/copy/", headers=auth, timeout=30,
                         data=[(f"f{i}", "1") for i in range(1001)])
    assert form.status_code == 400 and "1000 form fields" in form.json()["detail"]


def test_a_missing_trailing_slash_is_a_json_308_that_keeps_the_method(gunicorn_server, stocked):
    base, auth = gunicorn_server.base, gunicorn_server.auth
    redirect = requests.get(f"{base}/v3/file-ops/list?pattern=secret/*", headers=auth, allow_redirects=False,
                            timeout=30)
    assert redirect.status_code == 308
    assert redirect.headers["Location"] == "/v3/file-ops/list/?pattern=secret/*"
    assert "/v3/file-ops/list/" in redirect.json()["detail"]
    followed = requests.post(f"{base}/v3/auth/access-token", json={"expires_in": 5}, headers=auth, timeout=30)
    assert followed.status_code == 200 and followed.json()["expires_in"] == 5


def test_a_host_the_server_does_not_serve_is_a_json_400(gunicorn_server):
    response = requests.get(f"{gunicorn_server.base}/v3/file-ops/usage/", timeout=30,
                            headers={**gunicorn_server.auth, "Host": "evil.example"})
    assert response.status_code == 400
    assert "Host" in response.json()["detail"]


def test_make_run_and_the_test_servers_start_gunicorn_with_the_same_config():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    makefile = (root / "Makefile").read_text()
    run_line = next(line for line in makefile.splitlines() if "$(BIN)/gunicorn bgcut_site.wsgi" in line)
    assert "--config gunicorn.conf.py" in run_line
    # Every test server starts through tests/live_server.gunicorn_start.
    assert '"--config", "gunicorn.conf.py"' in (root / "tests/live_server.py").read_text()
    for conftest in ("tests/engine/conftest.py", "tests/browser/conftest.py", "tests/server/test_crash_recovery.py",
                     "tests/engine/test_bounds_server.py"):
        text = (root / conftest).read_text()
        assert "gunicorn_start(" in text and "subprocess.Popen(" not in text, conftest
