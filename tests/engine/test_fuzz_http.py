"""Hand-made malformed requests, sent as raw bytes to the real server (gunicorn, gunicorn.conf.py).

Bodies, headers and multipart that no well-behaved client sends, and that schemathesis does not
generate: odd JSON, wrong types in every field, Authorization and Content-Type oddities, lying
Content-Lengths, broken multipart. Every answer under /v3/ must be a status below 500 with a JSON
{"detail"} body whenever it is not a success. The request count is printed in the terminal summary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.images import image_bytes

REMOVE_BG = "/v3/tools/ai/remove-bg/process/"
AI_CUT = "/v3/tools/ai/ai-cut/segment/"
ODD_VALUES = [None, True, 0, -1, 2**70, 1.5, float("1e308"), "", " ", "\u0000", "../x.jpg", "é/ü.jpg",
              "x" * 5000, [], {}, [[["deep"]]], {"a": 1}, ["p/a.jpg"]]
VALID_BODIES = {
    "/v3/auth/access-token/": {"paths": ["/v3/files/*"], "expires_in": 30},
    "/v3/file-ops/copy/": {"source_path": "p/a.jpg", "destination_path": "q/b.jpg"},
    "/v3/file-ops/delete/": {"file_path": "q/none.jpg"},
    "/v3/file-ops/delete-folder/": {"folder_path": "none"},
    "/v3/file-ops/get-public-url/": {"key": "p/a.jpg"},
    REMOVE_BG: {"input_file_path": "p/missing.jpg", "output_variants": [{"output_file_path": "o/a.png"}]},
    AI_CUT: {"input_key": "p/missing.jpg", "output_key": "o/s.jpg", "foreground_points": [{"x": 1, "y": 2}]},
}
VARIANT = {"output_file_path": "o/a.png", "format": "png", "max_resolution": 4096, "background_color": "#fff",
           "quality": "low", "output_compression": 50, "autocrop": False}


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _answer(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        body = decoded
    return Answer(status=int(lines[0].split(" ")[1]), content_type=headers.get("content-type", ""), body=body)


def _request(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"",
             content_length: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _json(path: str, value, auth: str) -> bytes:
    return _request("POST", path, headers={"Authorization": auth, "Content-Type": "application/json"},
                    body=json.dumps(value).encode())


def _multipart(parts: list[bytes], boundary: str = "fuzzb", *, close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


def _field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def _file(name: str, filename: str, data: bytes) -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode("latin-1") + data


def _upload(auth: str, body: bytes, *, boundary: str = "fuzzb", content_type: str | None = None) -> bytes:
    return _request("POST", "/v3/file-ops/upload/", body=body, headers={
        "Authorization": auth, "Content-Type": content_type or f"multipart/form-data; boundary={boundary}"})


def malformed_requests(auth: str) -> list[tuple[str, bytes]]:
    """(label, raw request) for every hand-made case; `auth` is a valid Authorization value."""
    cases: list[tuple[str, bytes]] = []
    # JSON that is no JSON object, or too much of one
    odd_json = [b"", b"{", b"{}}", b"[]", b"null", b"1", b'"s"', b"NaN", b'{"a": NaN}', b"1e99999",
                b'{"paths": ["*"], "paths": 1}', b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b'{"a": "\xff"}',
                b"[" * 100_000, b'{"a":' * 5000, b'{"x": "' + b"a" * 3_000_000 + b'"}', b"\x00" * 64]
    for path in VALID_BODIES:
        for index, body in enumerate(odd_json):
            cases.append((f"odd JSON #{index} to {path}", _request(
                "POST", path, headers={"Authorization": auth, "Content-Type": "application/json"}, body=body)))
    # every field of every body, set to every odd value; unknown and missing fields
    for path, valid in VALID_BODIES.items():
        for field in valid:
            for value in ODD_VALUES:
                cases.append((f"{path} {field}={value!r:.30}", _json(path, {**valid, field: value}, auth)))
            cases.append((f"{path} without {field}", _json(path, {k: v for k, v in valid.items() if k != field}, auth)))
        cases.append((f"{path} with an unknown field", _json(path, {**valid, "zz": 1}, auth)))
    for field in VARIANT:
        for value in ODD_VALUES:
            cases.append((f"variant {field}={value!r:.30}", _json(
                REMOVE_BG, {"input_file_path": "p/a.jpg", "output_variants": [{**VARIANT, field: value}]}, auth)))
    for value in ODD_VALUES:
        cases.append((f"point x={value!r:.30}", _json(AI_CUT, {**VALID_BODIES[AI_CUT],
                                                               "background_points": [{"x": value, "y": 1}]}, auth)))
    # Authorization headers
    for value in ["", " ", "\t", "Token", "Token ", "Token  x", "token " + auth.split()[-1], "Bearer x",
                  "Basic dXNlcjpwYXNz", "Token a b", "AccessToken", "AccessToken a.b.c", "AccessToken ::",
                  "\xa0", "\x85\xa0", "Token\xa0x", "\xe9t\xe9", "Token " + "a" * 16000, "AccessToken " + "a" * 16000,
                  "Token " + "a" * 17000, "Token \x7f"]:
        cases.append((f"Authorization {value[:20]!r}", _request(
            "GET", "/v3/file-ops/usage/", headers={"Authorization": value})))
    cases.append(("Authorization as UTF-8 bytes", _request("GET", "/v3/file-ops/usage/").replace(
        b"Connection: close", "Connection: close\r\nAuthorization: Token ✂️".encode())))
    cases.append(("two Authorization headers", _request("GET", "/v3/file-ops/usage/").replace(
        b"Connection: close", f"Connection: close\r\nAuthorization: {auth}\r\nAuthorization: Token x".encode())))
    # Content-Types
    for content_type in ["text/plain", "application/xml", "application/json; charset=utf-16",
                         "application/json; charset=bogus", "application/json;;;", "multipart/form-data",
                         "multipart/form-data; boundary=", "multipart/form-data; boundary=\"", "*/*", "",
                         "application/x-www-form-urlencoded", "image/jpeg", "a" * 3000]:
        cases.append((f"Content-Type {content_type[:30]!r} to copy", _request(
            "POST", "/v3/file-ops/copy/", headers={"Authorization": auth, "Content-Type": content_type},
            body=b'{"source_path": "p/a.jpg", "destination_path": "q/c.jpg"}')))
    form = b"&".join(b"f%d=1" % i for i in range(1200))
    cases.append(("1,200 urlencoded fields", _request("POST", "/v3/file-ops/copy/", body=form, headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})))
    cases.append(("urlencoded garbage", _request("POST", "/v3/file-ops/copy/", body=b"%%%&&&==\xff=%zz", headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})))
    # Content-Length that lies (the sender closes its side, so a short body ends instead of hanging)
    copy_body = b'{"source_path": "p/a.jpg", "destination_path": "q/d.jpg"}'
    for length in ["0", "5", str(len(copy_body) + 50), "-1", "abc", "1e3", "99999999999999999999", " 10", "10, 10"]:
        cases.append((f"Content-Length {length!r}", _request(
            "POST", "/v3/file-ops/copy/", headers={"Authorization": auth, "Content-Type": "application/json"},
            body=copy_body, content_length=length)))
    smuggle = _request("POST", "/v3/file-ops/copy/", headers={"Authorization": auth, "Transfer-Encoding": "chunked"},
                       body=b"0\r\n\r\n")
    cases.append(("Content-Length with chunked", smuggle))
    # multipart
    jpeg = image_bytes(size=(16, 16))
    cases += [
        ("multipart with another boundary", _upload(auth, _multipart([_file("files", "a.jpg", jpeg)], "other"))),
        ("multipart without its end", _upload(auth, _multipart([_file("files", "a.jpg", jpeg)], close=False))),
        ("multipart cut mid-part", _upload(auth, _multipart([_file("files", "a.jpg", jpeg)])[:60])),
        ("multipart part without headers", _upload(auth, _multipart([b"\r\njust bytes"]))),
        ("multipart part without a name", _upload(auth, _multipart([
            b'Content-Disposition: form-data; filename="a.jpg"\r\n\r\n' + jpeg]))),
        ("multipart with a traversing file name", _upload(auth, _multipart([
            _file("files", "../../etc/passwd.jpg", jpeg), _field("upload_path", b"up")]))),
        ("multipart with a NUL in the file name", _upload(auth, _multipart([
            _file("files", "a\x00b.jpg", jpeg), _field("upload_path", b"up")]))),
        ("multipart with a non-UTF-8 field", _upload(auth, _multipart([
            _file("file", "a.jpg", jpeg), _field("key", b"k/\xff\xfe.jpg")]))),
        ("multipart with base64 transfer encoding", _upload(auth, _multipart([
            b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!", _field("key", b"k/a.jpg")]))),
        ("multipart with a huge part header", _upload(auth, _multipart([
            b'Content-Disposition: form-data; name="' + b"n" * 20000 + b'"\r\n\r\nx']))),
        ("multipart with 101 files", _upload(auth, _multipart(
            [_file("files", f"f{i}.jpg", jpeg) for i in range(101)] + [_field("upload_path", b"many")]))),
        ("multipart with 1,001 fields", _upload(auth, _multipart(
            [_file("files", "a.jpg", jpeg)] + [_field(f"f{i}", b"1") for i in range(1001)]))),
        ("multipart with a 3 MB text field", _upload(auth, _multipart(
            [_file("file", "a.jpg", jpeg), _field("key", b"k" * 3_000_000)]))),
        ("multipart with a file over the size limit", _upload(auth, _multipart(
            [_file("files", "big.jpg", jpeg + b"\0" * (1024 * 1024)), _field("upload_path", b"big")]))),
        ("multipart with files and file", _upload(auth, _multipart(
            [_file("files", "a.jpg", jpeg), _file("file", "b.jpg", jpeg), _field("upload_path", b"x"),
             _field("key", b"x/b.jpg")]))),
        ("multipart with a text 'files'", _upload(auth, _multipart([_field("files", b"a.jpg"),
                                                                    _field("upload_path", b"x")]))),
        ("multipart with an empty file", _upload(auth, _multipart([_file("files", "e.jpg", b""),
                                                                   _field("upload_path", b"x")]))),
        ("multipart with expires_in_hours=inf", _upload(auth, _multipart([
            _file("files", "a.jpg", jpeg), _field("upload_path", b"x"), _field("expires_in_hours", b"inf")]))),
        ("JSON to the upload", _upload(auth, b'{"files": ["a.jpg"], "upload_path": "x"}',
                                       content_type="application/json")),
    ]
    # URLs and methods
    for path in ["/v3/files/%00", "/v3/files/a%2F..%2F..%2Fx", "/v3/files/" + "a/" * 600 + "x", "/v3/files/%ff",
                 "/v3/files/..", "/v3/files/\xe9.jpg", "/v3//file-ops/list/", "/v3/file-ops/list", "/v3",
                 "/v3/file-ops/info/?file_path=%00", "/v3/file-ops/info/?file_path=a&file_path=b",
                 "/v3/file-ops/list/?pattern=" + "*" * 600, "/v3/file-ops/list/?pattern=[", "/v3/public/x",
                 "/v3/public/" + "a" * 3000, "/v3/ops/jobs/?page=-1", "/v3/ops/jobs/?page=" + "9" * 50]:
        cases.append((f"GET {path[:40]}", _request("GET", path, headers={"Authorization": auth})))
    for method in ["PUT", "PATCH", "DELETE", "TRACE", "FOO", "OPTIONS"]:
        cases.append((f"{method} the copy endpoint", _request(method, "/v3/file-ops/copy/",
                                                              headers={"Authorization": auth})))
    return cases


@pytest.fixture(scope="module")
def auth(gunicorn_server) -> str:
    import requests

    upload = requests.post(f"{gunicorn_server.base}/v3/file-ops/upload/", headers=gunicorn_server.auth, timeout=30,
                           files={"files": ("a.jpg", image_bytes())}, data={"upload_path": "p"})
    assert upload.status_code == 200, upload.text
    return gunicorn_server.auth["Authorization"]


def test_no_malformed_request_gets_a_server_error_or_a_non_json_error(gunicorn_server, auth, fuzz_tally):
    failures = []
    cases = malformed_requests(auth)
    for label, request_bytes in cases:
        raw = gunicorn_server.raw(request_bytes, half_close=True)
        if not raw:
            failures.append(f"{label}: no answer")
            continue
        answer = _answer(raw)
        before = (len(fuzz_tally.server_errors), len(fuzz_tally.non_json))
        fuzz_tally.record(label, answer.status, answer.content_type, answer.body)
        if (len(fuzz_tally.server_errors), len(fuzz_tally.non_json)) != before:
            failures.append(f"{label}: {answer.status} {answer.content_type} {answer.body[:200]!r}")
    assert len(cases) > 500
    assert not failures, "\n".join(failures)
