"""Several workers or nodes on a per-process cache are refused at start-up, with the fix in the message."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.shared_state import shared_state_problem

ROOT = Path(__file__).resolve().parents[2]
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"
FILES = "django.core.cache.backends.filebased.FileBasedCache"


@pytest.mark.parametrize("backend, workers, nodes, refused", [
    (LOCMEM, 1, 1, False),  # the embedded default: one process, threads share the cache
    (LOCMEM, 2, 1, True),
    (LOCMEM, 1, 2, True),
    (FILES, 4, 1, False),  # one machine's processes share the folder
    (FILES, 1, 2, True),
    (REDIS, 8, 3, False),
])
def test_it_refuses_only_set_ups_whose_processes_cannot_see_one_cache(backend, workers, nodes, refused):
    problem = shared_state_problem(cache_backend=backend, workers=workers, nodes=nodes)
    assert bool(problem) is refused
    if problem:
        assert "CACHE_URL=redis://" in problem


def scratch_env(tmp_path, **extra) -> dict:
    env = {**os.environ, "BGCUT_VAR_DIR": str(tmp_path), "BGCUT_LOG_LEVEL": "WARNING", **extra}
    for name in ("CACHE_URL", "BGCUT_NODES", "PROMETHEUS_MULTIPROC_DIR"):
        if name not in extra:
            env.pop(name, None)
    return env


def test_settings_refuse_several_nodes_on_the_local_memory_cache(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env=scratch_env(tmp_path, BGCUT_NODES="2"), timeout=120)
    assert result.returncode != 0
    assert "BGCUT_NODES=2 nodes need a shared cache" in result.stderr


def test_gunicorn_refuses_two_workers_on_the_local_memory_cache(tmp_path):
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run([gunicorn, "--bind", "127.0.0.1:0", "--workers", "2"], cwd=ROOT, capture_output=True,
                            text=True, env=scratch_env(tmp_path), timeout=120)
    assert result.returncode == 1
    assert "2 worker processes need a shared cache" in result.stderr and "--threads" in result.stderr
