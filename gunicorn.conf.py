"""gunicorn's settings for bgcut: gunicorn reads ./gunicorn.conf.py by itself; command-line flags win.

Start-up refuses several workers on a per-process cache (lib/shared_state.py), and sets up
prometheus_client's multi-process mode when there is more than one worker.
"""
import glob
import os
import shutil
import tempfile

wsgi_app = "bgcut_site.wsgi"
# A 12 MP request takes seconds; a worker silent for 3 minutes is stuck.
timeout = 180

if os.environ.get("BGCUT_LOG_FORMAT") == "json":
    # gunicorn's own lines (start, stop, a worker timing out) as JSON objects too, like the site's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "lib.request_log.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
        "root": {"level": "INFO", "handlers": []},
    }


def on_starting(server):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bgcut_site.settings")
    from django.conf import settings  # reading settings also refuses BGCUT_NODES>1 on a per-process cache

    from lib.shared_state import shared_state_problem

    problem = shared_state_problem(
        cache_backend=settings.CACHES["default"]["BACKEND"], workers=server.cfg.workers, nodes=settings.BGCUT_NODES
    )
    if problem:
        raise RuntimeError(problem)  # gunicorn prints "Error: <problem>" and exits with status 1
    if server.cfg.workers > 1:
        _metrics_dir_prepare()


def _metrics_dir_prepare():
    """Each worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR; /metrics merges them.

    The folder must be empty at start (old workers' files would be counted again): an operator's own
    folder is emptied of them, else a fresh one is made. Workers inherit the variable when they fork.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):  # only prometheus_client's own files
            os.remove(stale)
    else:
        path = tempfile.mkdtemp(prefix="bgcut-metrics-")
        _made_dirs.append(path)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


_made_dirs: list[str] = []  # the folders made above, removed when the server stops


def on_exit(server):
    for path in _made_dirs:
        shutil.rmtree(path, ignore_errors=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # its live gauges (the queue depth) stop counting
