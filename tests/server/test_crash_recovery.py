"""kill -9 the gunicorn worker mid-upload and mid-remove-bg, let gunicorn start a new one, run the
sweeper: no orphan bytes, no partial files, no job still "running", and the killed call refunded.

The worker is stopped at exact points without any hook in the code: mid-body (an upload whose
body is sent halfway), and mid-publish (the test holds SQLite's write lock, so a publish stores
its blobs and then waits for the lock to commit their rows: the kill lands in between).
"""
from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.live_server import children_of, free_port, gunicorn_start, gunicorn_stop, manage, server_prepare, wait_for

COST = 1  # credits per remove-bg call
START_CREDITS = 10


@dataclass
class Live:
    base: str
    key: str
    var: Path
    env: dict
    process: object

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Token {self.key}"}

    @property
    def storage(self) -> Path:
        return self.var / "storage"

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.var / "db.sqlite3", timeout=20, isolation_level=None)

    def query(self, sql: str, *args):
        with self.db() as connection:
            return connection.execute(sql, args).fetchall()

    def blob_files(self) -> set[str]:
        return {p.name for p in (self.storage / "blobs").rglob("*") if p.is_file()}

    def scratch(self) -> list[Path]:
        return sorted((self.storage / "tmp").rglob("*"))

    def credits(self) -> float:
        return round(self.query("SELECT credits FROM engine_account WHERE name = 'acme'")[0][0], 2)


def worker_pid(server: Live, *, not_pid: int | None = None, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = [pid for pid in children_of(server.process.pid) if pid != not_pid]
        if len(workers) == 1:
            return workers[0]
        time.sleep(0.05)
    raise AssertionError("gunicorn did not (re)start its worker")


def worker_kill(server: Live) -> None:
    """SIGKILL the worker and wait until gunicorn's new worker answers."""
    pid = worker_pid(server)
    os.kill(pid, signal.SIGKILL)
    worker_pid(server, not_pid=pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{server.base}/v3/file-ops/usage/", headers=server.headers, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the restarted worker does not answer")


def wait_until(condition, *, timeout: float = 20, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def write_lock(server: Live):
    """Hold SQLite's write lock: the server's next commit waits (up to its 20 s busy timeout)."""
    connection = server.db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def in_background(function) -> threading.Thread:
    def swallow():
        try:
            function()
        except requests.RequestException:
            pass  # the worker died under this request: that is the point

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    return thread


def noisy_png(width: int, height: int, seed: int = 1) -> bytes:
    """Noise encodes slowly and weighs a lot: a slow render and a long upload body."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("bgcut-crash")
    port = free_port()
    env = server_prepare(
        var, name="crash", BGCUT_ONNX_THREADS="2", BGCUT_RATE_LIMIT="2000/min",
        BGCUT_DEFAULT_CREDITS=str(START_CREDITS), BGCUT_CREDIT_COST_REMOVE_BG=str(COST),
    )  # BGCUT_SWEEP_INTERVAL stays 0: the test runs the sweeper itself, after the kills
    key = manage("create_api_key", "acme", env=env).strip().splitlines()[-1].strip()
    process = gunicorn_start(port=port, env=env, log=var / "server.log", threads=4)
    live = Live(base=f"http://127.0.0.1:{port}", key=key, var=var, env=env, process=process)
    try:
        wait_for(f"{live.base}/v3/file-ops/usage/", process=process)
        yield live
    finally:
        gunicorn_stop(process)


def upload_prepared(server: Live, files: list[tuple[str, bytes]], folder: str) -> requests.PreparedRequest:
    return requests.Request(
        "POST", f"{server.base}/v3/file-ops/upload/", headers=server.headers,
        files=[("files", (name, data, "image/png")) for name, data in files], data={"upload_path": folder},
    ).prepare()


def kill_mid_body(server: Live) -> None:
    """Send half of a 3 MB upload and kill the worker while it streams the body to scratch."""
    prepared = upload_prepared(server, [("big.png", noisy_png(1200, 900))], "killed-mid-body")
    head = f"POST /v3/file-ops/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in prepared.headers.items()) + "\r\n"
    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode() + prepared.body[: len(prepared.body) // 2])
        wait_until(lambda: any(p.is_file() and p.stat().st_size > 0 for p in server.scratch()),
                   what="the upload's scratch file")
        worker_kill(server)


def kill_mid_publish(server: Live, start, *, files_expected: int) -> None:
    """Hold the write lock, start a request, kill the worker once its blobs are stored."""
    before = server.blob_files()
    with write_lock(server):
        thread = in_background(start)
        wait_until(lambda: len(server.blob_files() - before) >= files_expected, what="blobs stored before the commit")
        worker_kill(server)
    thread.join(30)


def kill_remove_bg_mid_publish(server: Live, body: dict, *, variants: int) -> None:
    """Let remove-bg commit its job and its charge, then take the lock while it renders, and kill
    it once its outputs are stored; retried if the render wins the race for the lock."""
    for _ in range(3):
        last = (server.query("SELECT max(id) FROM engine_job")[0][0]) or 0
        before = server.blob_files()
        thread = in_background(lambda: requests.post(
            f"{server.base}/v3/tools/ai/remove-bg/process/", json=body, headers=server.headers, timeout=60))
        balance = server.credits()
        job = "SELECT status FROM engine_job WHERE id > ?"
        wait_until(lambda: server.query(job, last) and server.credits() < balance, what="the job to be charged")
        with write_lock(server) as connection:
            if connection.execute(job, (last,)).fetchall() == [("running",)]:
                wait_until(lambda: len(server.blob_files() - before) >= variants, what="the variants' blobs")
                worker_kill(server)
                thread.join(30)
                return
        thread.join(60)  # it finished first: try again
    raise AssertionError("remove-bg always finished before the lock was taken")


def test_after_kill_9_mid_write_the_sweeper_leaves_no_orphan_no_partial_file_no_running_job(server):
    requests.post(f"{server.base}/v3/file-ops/upload/", headers=server.headers,
                  files={"file": ("in.png", noisy_png(1600, 1200, seed=2), "image/png")},
                  data={"key": "in/photo.png"}, timeout=60).raise_for_status()

    kill_mid_body(server)
    prepared = upload_prepared(server, [(f"f{n}.png", noisy_png(300, 200, seed=n)) for n in range(3)], "killed")
    kill_mid_publish(server, lambda: requests.Session().send(prepared, timeout=60), files_expected=3)
    variants = [{"output_file_path": f"out/v{n}.png", "max_resolution": 1_920_000} for n in range(3)]
    kill_remove_bg_mid_publish(server, {"input_key": "in/photo.png", "output_variants": variants}, variants=3)

    # The crash left what the issue found: bytes no row points at, scratch files, a running, charged job.
    rows = {blob for (blob,) in server.query("SELECT blob FROM engine_storedfile")}
    orphans = server.blob_files() - rows
    assert len(orphans) == 6
    assert server.scratch()
    assert server.query("SELECT count(*) FROM engine_job WHERE status = 'running'") == [(1,)]
    assert server.credits() == START_CREDITS - COST

    report = manage("sweep_files", "--grace-seconds", "0", env=server.env)
    assert "6 orphan blobs" in report and "1 abandoned jobs marked failed and 1.00 credits given back" in report

    files = server.query("SELECT path, blob, size, sha256 FROM engine_storedfile")
    assert [path for path, *_ in files] == ["in/photo.png"], "nothing half-published"
    assert server.blob_files() == {blob for _, blob, _, _ in files}, "no orphan bytes"
    for path, blob, size, sha256 in files:
        data = (server.storage / "blobs" / blob[:2] / blob).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), f"{path} is whole"
    assert server.scratch() == [], "no scratch files"
    assert server.query("SELECT status, error FROM engine_job") == [
        ("failed", "The worker process died during this call (it was killed or crashed), so nothing was written "
                   "and its credits were given back: send the request again.")]
    assert server.credits() == START_CREDITS, "the killed call is refunded"

    # The restarted worker serves whole calls, charged once.
    done = requests.post(f"{server.base}/v3/tools/ai/remove-bg/process/", headers=server.headers, timeout=120,
                         json={"input_key": "in/photo.png", "output_variants": [
                             {"output_file_path": "out/ok.jpg", "max_resolution": 500_000}]})
    assert done.status_code == 200, done.text
    assert server.credits() == START_CREDITS - COST
