"""A real gunicorn server for the tests of the server stack, started as `make run` starts it.

It runs in a subprocess with gunicorn.conf.py, its own database and storage under a temporary
folder (nothing shared with pytest-django's test database), and u2netp for every model.
"""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live_server import free_port, gunicorn_start, gunicorn_stop, manage, server_prepare, wait_for


@dataclass(frozen=True)
class GunicornServer:
    base: str
    port: int
    api_key: str
    log: Path

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Token {self.api_key}"}

    def raw(self, request: bytes, *, timeout: float = 20, half_close: bool = False) -> bytes:
        """Send bytes as they are (no client library tidies them up) and read the whole answer.

        `half_close` ends the sending side after the request, so a body shorter than its
        Content-Length ends instead of keeping a worker thread waiting.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            try:
                sock.sendall(request)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server answered (and closed) before reading everything: read its answer
            chunks = []
            try:
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except OSError:  # a reset after the answer, or a timeout
                pass
        return b"".join(chunks)


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory) -> GunicornServer:
    var = tmp_path_factory.mktemp("gunicorn-var")
    port = free_port()
    env = server_prepare(
        var, name="gunicorn-tests", BGCUT_ONNX_THREADS="1", BGCUT_RATE_LIMIT="100000/min",
        BGCUT_INFERENCE_TIMEOUT="20", BGCUT_LOG_LEVEL="ERROR",
        BGCUT_MAX_UPLOAD_BYTES=str(1024 * 1024),  # the fuzz sends a file over it cheaply
    )
    api_key = manage("create_api_key", "stack", env=env).strip().splitlines()[-1].strip()
    log_path = var / "server.log"
    process = gunicorn_start(port=port, env=env, log=log_path, threads=4, timeout=60, log_level="error")
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(f"{base}/v3/file-ops/usage/", process=process, timeout=90)
        except RuntimeError as error:
            raise RuntimeError(f"{error}:\n{log_path.read_text()[-3000:]}") from None
        yield GunicornServer(base=base, port=port, api_key=api_key, log=log_path)
    finally:
        gunicorn_stop(process)


# ---- The fuzz tally: every request the fuzz tests send, reported at the end of the run --------


@dataclass
class FuzzTally:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    non_json: list[str] = field(default_factory=list)

    def record(self, label: str, status: int, content_type: str, body: bytes) -> None:
        """Count one answer; remember it when it is a 5xx or a non-JSON error (the tests assert on both)."""
        self.requests += 1
        if status >= 500:
            self.server_errors.append(f"{label}: {status} {body[:200]!r}")
        if status >= 300 and not _is_json_detail(content_type, body):
            self.non_json.append(f"{label}: {status} {content_type} {body[:200]!r}")


def _is_json_detail(content_type: str, body: bytes) -> bool:
    if not content_type.startswith("application/json"):
        return False
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, str) and bool(detail)


_TALLY = FuzzTally()


@pytest.fixture(scope="session")
def fuzz_tally() -> FuzzTally:
    return _TALLY


def pytest_terminal_summary(terminalreporter):
    if _TALLY.requests:
        terminalreporter.write_line(
            f"v3 fuzz over HTTP to gunicorn: {_TALLY.requests} requests, {len(_TALLY.server_errors)} answered 5xx, "
            f"{len(_TALLY.non_json)} error bodies not JSON {{\"detail\"}}"
        )
