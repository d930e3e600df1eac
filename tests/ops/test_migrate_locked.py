"""`manage.py migrate_locked`: nodes that start together take turns at migrating, and all of them succeed.

PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth): a fresh database per test, dropped after.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def migrate_together(env: dict, count: int) -> list[subprocess.CompletedProcess]:
    processes = [subprocess.Popen([sys.executable, "manage.py", "migrate_locked", "-v", "1"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    return [(process, *process.communicate(timeout=300)) for process in processes]


def scratch_env(tmp_path: Path, database_url: str | None) -> dict:
    env = {**os.environ, "BGCUT_VAR_DIR": str(tmp_path), "BGCUT_LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "CACHE_URL", "BGCUT_NODES"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@pytest.fixture
def fresh_postgres():
    import psycopg

    name = f"bgcut_migrate_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running at 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgres://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def applied_migrations(database_url: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as connection:
        return connection.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()


def test_two_nodes_migrating_one_postgresql_database_at_once_both_succeed(tmp_path, fresh_postgres):
    results = migrate_together(scratch_env(tmp_path, fresh_postgres), 2)
    assert [process.returncode for process, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    # One applied everything; the other waited on the lock, then found nothing to do.
    outputs = [out for _, out, _ in results]
    assert sum("Applying engine.0001_initial... OK" in out for out in outputs) == 1
    assert sum("No migrations to apply." in out for out in outputs) == 1
    rows = applied_migrations(fresh_postgres)
    assert ("engine", "0001_initial") in rows and len(rows) == len(set(rows))


def test_on_sqlite_the_same_command_takes_turns_with_a_file_lock(tmp_path):
    results = migrate_together(scratch_env(tmp_path, None), 2)
    assert [process.returncode for process, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert sum("Applying engine.0001_initial... OK" in out for _, out, _ in results) == 1
