"""gunicorn settings for every server we start: `make run` and the test servers (gunicorn reads
./gunicorn.conf.py by itself; `--config gunicorn.conf.py` says so explicitly). Command-line flags win.

Start-up refuses several workers on a per-process cache (lib/shared_state.py), sets up
prometheus_client's multi-process mode when there is more than one worker, keeps request heads
bounded, and answers gunicorn's own protocol errors as `{"detail"}` JSON.
"""
import glob
import json
import os
import shutil
import tempfile

from gunicorn import util


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

# The site is mounted at /. By default gunicorn lets clients in forwarded_allow_ips (loopback) set
# SCRIPT_NAME and PATH_INFO with headers; with no forwarder headers, every header spelled with an
# underscore is dropped (header_map), so no header can move the mount point or pick another view.
forwarder_headers = ""
header_map = "drop"

# Bounded request heads (gunicorn's defaults, except header fields: a token minted with 32 paths of
# 256 characters is about 11 KB and must fit in its Authorization header).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 16384

_DETAILS = {
    400: "Malformed HTTP request: {mesg}.",
    403: "Request refused: {mesg}.",
    414: f"The request line is too long: at most {limit_request_line} bytes. Send long values in a JSON body.",
    417: "Unsupported Expect header: only 'Expect: 100-continue' is understood.",
    431: (f"The request headers are too large: at most {limit_request_fields} fields of "
          f"{limit_request_field_size} bytes each."),
    501: "Unsupported transfer coding: send a Content-Length or chunked body.",
}


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it cannot parse, as `{"detail"}` JSON instead of an HTML page."""
    template = _DETAILS.get(status_int, "Internal server error: retry with exponential backoff.")
    body = json.dumps({"detail": template.format(mesg=str(mesg)[:200] or reason)}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


# gunicorn has no setting for its error pages: its workers call util.write_error, so replace that.
util.write_error = write_json_error
