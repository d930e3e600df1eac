"""Uploads and downloads per second at 50 clients: the embedded default against the multi-node stack, one run.

Rows, each on a server of its own started here, one after the other:
- embedded: one gunicorn as `make run` starts it (1 worker, 8 threads), SQLite and the local disk;
- shared, 1 node: the same gunicorn on PostgreSQL, Redis and a SeaweedFS S3 store (tools/cluster.py);
- shared, 2 nodes: two such nodes, the clients split between them.

Each row: CLIENTS threads (one HTTP session each) upload a small JPEG (a real photo) under a new name, as fast as they can
for --seconds; then download pre-uploaded files for --seconds. Reported: requests per second, p50 and p95
latency, and any answer other than 200 (there should be none). The clients run on the same cores as the
servers, so the figures are for comparing rows, not for sizing a deployment.

    .venv/bin/python bench/file_throughput.py [--clients 50] [--seconds 15] [--write docs/BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import io
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_latency import DATASETS, section_write  # noqa: E402
from tests.live_server import free_port, gunicorn_start, gunicorn_stop, manage, server_prepare, wait_for  # noqa: E402
from tools.cluster import (REDIS, cluster_start, postgres_database_create, postgres_database_drop,  # noqa: E402
                           redis_flush)

REDIS_DB = 5  # the bench's own; `make cluster` uses 2, the cluster tests 3 and `make test-shared` 14
UNLIMITED = {"BGCUT_RATE_LIMIT": "1000000/min", "BGCUT_QUOTA_BYTES": str(10**12), "BGCUT_LOG_LEVEL": "ERROR"}


def photo_bytes() -> bytes:
    """A real photo (ECSSD-dev, 267×400) as a JPEG: the size of a typical thumbnail or small upload."""
    source = sorted((DATASETS / "ECSSD-dev" / "images").glob("*.jpg"))[0]
    buffer = io.BytesIO()
    Image.open(source).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def hammer(*, bases: list[str], key: str, clients: int, seconds: float, request) -> dict:
    """`clients` threads calling `request(session, base, n)` until `seconds` pass; rate and latencies."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {key}"
        base = bases[index % len(bases)]
        n = 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                status = request(session, base, f"{index}-{n}")
            except requests.RequestException as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
            n += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at.append(time.perf_counter() + seconds)
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "rate": statuses[200] / wall,
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "other": {status: count for status, count in statuses.items() if status != 200},
    }


def measure(*, bases: list[str], key: str, clients: int, seconds: float, data: bytes) -> dict:
    folder = "tp" + secrets.token_hex(3)

    def upload(session, base, name):
        return session.post(f"{base}/v3/file-ops/upload/", files={"files": (f"{name}.jpg", data)},
                            data={"upload_path": folder}, timeout=60).status_code

    uploads = hammer(bases=bases, key=key, clients=clients, seconds=seconds, request=upload)
    sources = []
    session = requests.Session()
    session.headers["Authorization"] = f"Token {key}"
    for n in range(clients):
        response = session.post(f"{bases[0]}/v3/file-ops/upload/", files={"files": (f"d{n}.jpg", data)},
                                data={"upload_path": folder + "-d"}, timeout=60)
        response.raise_for_status()
        sources.append(response.json()["file_paths"][0])

    def download(session, base, name):
        response = session.get(f"{base}/v3/files/{sources[int(name.split('-')[0])]}", timeout=60)
        ok = response.status_code == 200 and len(response.content) == len(data)
        return response.status_code if ok or response.status_code != 200 else "short body"

    downloads = hammer(bases=bases, key=key, clients=clients, seconds=seconds, request=download)
    return {"upload": uploads, "download": downloads}


def embedded_row(args, data: bytes) -> dict:
    with tempfile.TemporaryDirectory(prefix="bgcut-tp-") as scratch:
        var = Path(scratch)
        env = server_prepare(var, name="bench-embedded", **UNLIMITED)
        key = manage("create_api_key", "bench", env=env).strip().splitlines()[-1]
        port = free_port()
        process = gunicorn_start(port=port, env=env, log=var / "gunicorn.log", workers=1, threads=8)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", process=process)
            return measure(bases=[f"http://127.0.0.1:{port}"], key=key, clients=args.clients,
                           seconds=args.seconds, data=data)
        finally:
            gunicorn_stop(process)


def shared_row(args, data: bytes, *, nodes: int) -> dict:
    database = "bgcut_bench_" + secrets.token_hex(4)
    cache_url = f"{REDIS}/{REDIS_DB}"
    redis_flush(cache_url)
    database_url = postgres_database_create(database)
    try:
        with tempfile.TemporaryDirectory(prefix="bgcut-tp-") as scratch:
            cluster = cluster_start(folder=Path(scratch), database_url=database_url, cache_url=cache_url,
                                    nodes=nodes, threads=8, extra_env=UNLIMITED)
            try:
                return measure(bases=[node.base for node in cluster.nodes], key=cluster.api_key,
                               clients=args.clients, seconds=args.seconds, data=data)
            finally:
                cluster.stop()
    finally:
        postgres_database_drop(database)
        redis_flush(cache_url)


def table(rows: dict[str, dict], args, size: int) -> str:
    def cell(figures: dict) -> str:
        other = ", ".join(f"{count} × {status}" for status, count in figures["other"].items()) or "none"
        return f"**{figures['rate']:.0f}** | {figures['p50'] * 1000:.0f} / {figures['p95'] * 1000:.0f} ms | {other}"

    lines = [
        f"## Uploads and downloads at {args.clients} clients (bench/file_throughput.py)",
        "",
        f"{args.clients} client threads, each with its own HTTP session, for {args.seconds:.0f} s per phase: uploads of a "
        f"{size / 1000:.0f} KB JPEG under new names, then downloads of pre-uploaded ones. Each node is one gunicorn "
        "worker with 8 threads (as `make run`); the clients share the 2 cores with the servers and the stores.",
        "",
        "| setup | uploads/s | upload p50 / p95 | non-200 | downloads/s | download p50 / p95 | non-200 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures in rows.items():
        lines.append(f"| {name} | {cell(figures['upload'])} | {cell(figures['download'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    data = photo_bytes()
    rows = {
        "embedded: SQLite + local disk, 1 node": embedded_row(args, data),
        "shared: PostgreSQL + Redis + SeaweedFS, 1 node": shared_row(args, data, nodes=1),
        "shared: PostgreSQL + Redis + SeaweedFS, 2 nodes": shared_row(args, data, nodes=2),
    }
    text = table(rows, args, len(data))
    print(text)
    if args.write:
        section_write(args.write, "throughput", text)


if __name__ == "__main__":
    main()
