"""Several bgcut nodes on one machine, without containers: `make cluster`, and the cross-node tests.

On loopback: N gunicorn nodes from this checkout, sharing the local PostgreSQL (a database of their
own), Redis (a DB number of its own), one DJANGO_SECRET_KEY and a SeaweedFS S3 store started here.
Migrations run once, before any node starts; the nodes then start together.

    python -m tools.cluster [--nodes 2] [--folder var/cluster]      # Ctrl-C stops everything
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from tools.seaweedfs import SeaweedFS, _free_ports, seaweedfs_start

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"


@dataclass
class Node:
    name: str
    base: str
    process: subprocess.Popen
    log: Path


@dataclass
class Cluster:
    folder: Path
    env: dict
    seaweedfs: SeaweedFS
    api_key: str
    bucket: str
    nodes: list[Node] = field(default_factory=list)

    def node_env(self, name: str) -> dict:
        """A node's environment: everything shared, plus its own scratch folder."""
        var = self.folder / name
        (var / "storage" / "tmp").mkdir(parents=True, exist_ok=True)
        return {**self.env, "BGCUT_VAR_DIR": str(var), "BGCUT_STORAGE_ROOT": str(var / "storage")}

    def manage(self, *args: str, node: str = "node-a", timeout: float = 300) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.node_env(node),
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def stop(self) -> None:
        for node in self.nodes:
            process_stop(node.process)
        self.nodes.clear()
        self.seaweedfs.stop()


def postgres_database_create(name: str, *, drop_first: bool = False) -> str:
    """A database of the cluster's own on the local PostgreSQL; returns its DATABASE_URL."""
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as connection:
        if drop_first:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def postgres_database_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=5).flushdb()


def cluster_start(*, folder: Path, database_url: str, cache_url: str, nodes: int = 2, threads: int = 4,
                  extra_env: dict | None = None, timeout: float = 120) -> Cluster:
    """Start SeaweedFS, migrate once, create an API key, then start `nodes` gunicorn nodes together."""
    folder.mkdir(parents=True, exist_ok=True)
    seaweedfs = seaweedfs_start(folder=folder / "seaweedfs")
    bucket = "bgcut-cluster"
    try:
        env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("BGCUT_", "DJANGO_"))},
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # one for every node: tokens and links cross nodes
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "BGCUT_NODES": str(nodes),
            "BGCUT_STORAGE_URL": seaweedfs.storage_url(bucket),
            "BGCUT_S3_ACCESS_KEY_ID": seaweedfs.access_key,
            "BGCUT_S3_SECRET_ACCESS_KEY": seaweedfs.secret_key,
            **(extra_env or {}),
        }
        cluster = Cluster(folder=folder, env=env, seaweedfs=seaweedfs, api_key="", bucket=bucket)
        cluster.manage("migrate_locked", "-v", "0")
        cluster.manage("blob_store_create")  # the bucket, as a deployment's migrate step makes it
        cluster.api_key = cluster.manage("create_api_key", "cluster").strip().splitlines()[-1].strip()
    except BaseException:
        seaweedfs.stop()
        raise
    try:
        for name, port in zip((f"node-{chr(ord('a') + n)}" for n in range(nodes)), _free_ports(nodes)):
            log = folder / f"{name}.log"
            with open(log, "w") as output:
                process = subprocess.Popen(
                    [GUNICORN, "bgcut_site.wsgi", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                     "--workers", "1", "--threads", str(threads), "--timeout", "120", "--log-level", "warning"],
                    cwd=ROOT, env=cluster.node_env(name), stdout=output, stderr=subprocess.STDOUT,
                )
            cluster.nodes.append(Node(name=name, base=f"http://127.0.0.1:{port}", process=process, log=log))
        for node in cluster.nodes:
            _wait_until_up(node, timeout=timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_until_up(node: Node, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"{node.name} exited with {node.process.returncode}:\n{node.log.read_text()[-3000:]}")
        try:
            requests.get(f"{node.base}/v3/file-ops/usage/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"{node.name} did not answer within {timeout} s:\n{node.log.read_text()[-3000:]}")


def process_stop(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """Ask a server to stop (SIGTERM: gunicorn finishes its requests), and kill it if it takes too long."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _with_db(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--database", default="bgcut_cluster", help="PostgreSQL database (created if missing)")
    parser.add_argument("--redis-db", type=int, default=2, help="Redis DB number of the cluster's own")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the nodes and SeaweedFS too, like Ctrl-C
    cluster = cluster_start(folder=arguments.folder.resolve(), nodes=arguments.nodes,
                            database_url=postgres_database_create(arguments.database),
                            cache_url=_with_db(REDIS, arguments.redis_db))
    print(f"SeaweedFS S3: {cluster.seaweedfs.endpoint_url} (bucket {cluster.bucket})")
    for node in cluster.nodes:
        print(f"{node.name}: {node.base}  (log {node.log})")
    print(f"API key: {cluster.api_key}\nCtrl-C stops the nodes and SeaweedFS.", flush=True)
    try:
        while all(node.process.poll() is None for node in cluster.nodes):
            time.sleep(1)
        print("A node exited; stopping the cluster.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
