"""Starting the real server for tests: manage.py commands and gunicorn in subprocesses, each with
its own var folder (database and storage), sharing nothing with pytest-django's test database."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tools.cluster import process_stop

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


def server_prepare(var: Path, *, name: str, **settings: str) -> dict:
    """The environment of a test server with its own database and storage under `var` (migrated) and
    u2netp standing in for every salient model; `settings` add or override BGCUT_* variables."""
    if not (ROOT / "models" / "u2netp.onnx").exists():
        raise RuntimeError("models/u2netp.onnx is missing: run `make models` first")
    u2netp = {"models": ["u2netp"]}
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or f"{name}-tests-only-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "BGCUT_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "CACHE_URL": f"locmemcache://{name}",
        "BGCUT_STORAGE_ROOT": str(var / "storage"),
        "BGCUT_QUALITY_PLANS": json.dumps({"high": u2netp, "medium": u2netp, "low": u2netp}),
        "BGCUT_AICUT_PRIOR_MODEL": "u2netp",
        "BGCUT_SWEEP_INTERVAL": "0",
        "BGCUT_LOG_LEVEL": "WARNING",
        **settings,
    }
    for inherited in ("BGCUT_API_KEY", "SCRIPT_NAME", "FORWARDED_ALLOW_IPS"):
        env.pop(inherited, None)
    (var / "storage" / "tmp").mkdir(parents=True)  # Django checks FILE_UPLOAD_TEMP_DIR exists
    manage("migrate", "--noinput", "-v", "0", env=env)
    return env


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
    process_stop(process, timeout=10)


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
