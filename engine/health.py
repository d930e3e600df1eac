"""`/healthz` (the process answers) and `/readyz` (it can serve: database, cache, storage, models)."""
from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from engine.blobs import blob_store_check

logger = logging.getLogger(__name__)


def healthz(request):
    """Liveness: answers without touching the database, so a slow database never restarts a node."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key, value = f"bgcut:readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("a value written to the cache could not be read back")
    cache.delete(key)


def _storage() -> None:
    root = Path(settings.BGCUT_STORAGE_ROOT) / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root, prefix="readyz-") as probe:
        probe.write(b"ok")
        probe.flush()
    blob_store_check()  # the blob store itself: its folder, or its bucket on S3


def _models() -> None:
    from engine.inference import models_check

    models_check()  # hashes each file once per process, then answers from memory


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database, "cache": _cache, "storage": _storage, "models": _models,
}


def readyz(request):
    """Readiness: 200 with each check's result, or 503 naming the checks that failed."""
    results, failed = {}, []
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "not ready"; the log has the details
            logger.warning("readyz: the %s check failed: %s: %s", name, type(error).__name__, error)
            results[name] = f"failed: {type(error).__name__}"
            failed.append(name)
    if failed:
        return JsonResponse(
            {"detail": f"Not ready: the {', '.join(failed)} check{'s' if len(failed) > 1 else ''} failed; "
                       "the server log says why.", "checks": results},
            status=503, headers={"Retry-After": "5"},
        )
    return JsonResponse({"status": "ok", "checks": results})
