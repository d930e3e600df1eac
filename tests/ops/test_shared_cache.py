"""More than one process on one Redis cache: rate limits hold across them, metrics add up, logs are JSON.

Redis database 15 at 127.0.0.1:6379 is this file's scratch space (flushed here).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_flushed():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_env(var: Path, **extra) -> dict:
    env = {**os.environ, "BGCUT_VAR_DIR": str(var), "CACHE_URL": REDIS_URL, "BGCUT_SWEEP_INTERVAL": "0", **extra}
    for name in ("DATABASE_URL", "BGCUT_STORAGE_ROOT", "PROMETHEUS_MULTIPROC_DIR", "BGCUT_NODES"):
        env.pop(name, None)
    return env


COUNT_HITS = """
import sys, time, django
django.setup()
from lib.ratelimit import rate_hit, rate_parse
allowed = sum(rate_hit(scope="test", subject="shared", rate=rate_parse("8/day"), now=time.time()).allowed
              for _ in range(10))
print(allowed)
"""


def test_two_processes_share_one_rate_limit_through_redis(tmp_path):
    redis_flushed()
    env = scratch_env(tmp_path, DJANGO_SETTINGS_MODULE="bgcut_site.settings")
    processes = [subprocess.Popen([sys.executable, "-c", COUNT_HITS], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    assert sum(int(out) for out, _ in results) == 8  # 20 requests, one limit of 8 between both processes


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """gunicorn with two worker processes on Redis, JSON logs, and a small rate limit."""
    redis_flushed()
    var = tmp_path_factory.mktemp("two-workers")
    env = scratch_env(var, BGCUT_RATE_LIMIT="5/day", BGCUT_LOG_FORMAT="json", BGCUT_LOG_LEVEL="INFO")
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate_locked", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    key = subprocess.run(manage + ["create_api_key", "shared"], cwd=ROOT, env=env, check=True, timeout=120,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    log_path = var / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "2"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)
        yield base, key, log_path
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_rate_limit_holds_across_worker_processes(two_workers):
    base, key, _ = two_workers
    # A new connection each time, so either worker may answer.
    codes = [requests.get(f"{base}/v3/file-ops/usage/", headers={"Authorization": f"Token {key}"},
                          timeout=30).status_code for _ in range(12)]
    assert sorted(codes) == [200] * 5 + [429] * 7

    text = requests.get(f"{base}/metrics", timeout=30).text  # from loopback: allowed
    counted = sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                  if s.name == "bgcut_http_requests_total" and s.labels["route"] == "v3/file-ops/usage/")
    assert counted == 12  # both workers' counts, merged from PROMETHEUS_MULTIPROC_DIR


def server_json_lines(log_path: Path) -> list[dict]:
    """Every line the server wrote, gunicorn's own included: each must be one JSON object."""
    return [json.loads(line) for line in log_path.read_text().splitlines()]


def test_each_log_line_of_the_server_is_json_with_the_request_id(two_workers):
    base, _, log_path = two_workers
    response = requests.get(f"{base}/v3/file-ops/usage/", headers={"X-Request-ID": "trace-42"}, timeout=30)
    assert response.status_code == 401 and response.headers["X-Request-ID"] == "trace-42"
    found, deadline = [], time.monotonic() + 30
    while not found and time.monotonic() < deadline:  # the worker may write its line just after answering
        time.sleep(0.1)
        found = [entry for entry in server_json_lines(log_path)
                 if entry["request_id"] == "trace-42" and entry["logger"] == "bgcut.request"]
    (line,) = found
    assert line["http"] == {**line["http"], "route": "v3/file-ops/usage/", "status": 401, "method": "GET"}
