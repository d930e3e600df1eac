"""Runs the file sweeper every BGCUT_SWEEP_INTERVAL seconds in a daemon thread of the server."""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()
_lock = threading.Lock()


def sweeper_ensure_running() -> None:
    """Start the sweeper once per process, on the first API request (not in management commands)."""
    if _started.is_set() or settings.BGCUT_SWEEP_INTERVAL <= 0:
        return
    with _lock:
        if _started.is_set():
            return
        threading.Thread(target=_loop, name="bgcut-sweeper", daemon=True).start()
        _started.set()


def _loop() -> None:
    from engine.files import files_sweep

    while settings.BGCUT_SWEEP_INTERVAL > 0:  # turning the setting off stops the thread
        time.sleep(settings.BGCUT_SWEEP_INTERVAL)
        try:
            removed = files_sweep()
            if removed:
                logger.info("Swept %d expired files", removed)
        except Exception:
            logger.exception("File sweep failed; will retry")
        finally:
            close_old_connections()
    _started.clear()
