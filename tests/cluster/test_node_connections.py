"""A node keeps its PostgreSQL connections between requests instead of connecting for each one."""
from __future__ import annotations

import psycopg

from tests.cluster.test_cross_node import session

REQUESTS = 30


def sessions_opened(watcher: psycopg.Connection, database: str) -> int:
    """Connections ever made to `database` (PostgreSQL counts one when a backend starts)."""
    return watcher.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [database]).fetchone()[0]


def test_requests_reuse_the_node_threads_database_connections(cluster):
    node = cluster.nodes[0]
    http = session(cluster)
    database_url = cluster.env["DATABASE_URL"]
    database = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as watcher:
        before = sessions_opened(watcher, database)
        for _ in range(REQUESTS):
            assert http.get(f"{node.base}/v3/file-ops/usage/", timeout=10).status_code == 200
        opened = sessions_opened(watcher, database) - before
    # At most one connection per server thread (4); one per request would be 30.
    assert opened <= 4, f"{opened} connections for {REQUESTS} requests"
