"""Starting the real server for tests: manage.py commands and gunicorn in subprocesses, each with
its own var folder (database and storage), sharing nothing with pytest-django's test database."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_for(url: str, *, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url} within {timeout} s")


def gunicorn_start(*, port: int, env: dict, log: Path, workers: int = 1, threads: int = 8,
                   timeout: int = 120, log_level: str = "warning") -> subprocess.Popen:
    """gunicorn as `make run` starts it (the same gunicorn.conf.py), on loopback."""
    with open(log, "w") as output:  # the server keeps its own copy of the handle
        return subprocess.Popen(
            [GUNICORN, "bgcut_site.wsgi", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout),
             "--log-level", log_level],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )


def gunicorn_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (gunicorn's workers, for the master's pid)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
