"""Request ids and log lines: every request gets an id, every log line carries it, JSON or text.

The id comes from the proxy's `X-Request-ID` when it looks like one (so a line in nginx's log and one
here can be matched), else a new one; it goes back in the response's `X-Request-ID`.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

HEADER = "X-Request-ID"
# What a proxy or client might send (uuid, hex, base64url): short, and safe to print in a log line.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("bgcut_request_id", default="-")
access_logger = logging.getLogger("bgcut.request")


def request_id_get() -> str:
    """The id of the request this thread is serving, or '-' outside a request."""
    return _request_id.get()


def request_id_choose(offered: str | None) -> str:
    """The offered id when it is sane, else a new random one."""
    if offered and _SANE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request id for the request's log lines, returns it, and logs one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_choose(request.headers.get(HEADER))
        token = _request_id.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            access_logger.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"http": {
                    "method": request.method, "path": request.path, "status": response.status_code,
                    "route": match.route if match else None,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                }},
            )
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (handlers use it in both formats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any `http` or exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _request_id.get()),
        }
        if hasattr(record, "http"):
            line["http"] = record.http
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING setting for BGCUT_LOG_FORMAT ('json' or 'text')."""
    if fmt not in ("json", "text"):
        raise ValueError(f"BGCUT_LOG_FORMAT must be json or text, not {fmt!r}.")
    formatter = (
        {"()": "lib.request_log.JsonFormatter"} if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "lib.request_log.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            # One line per request from RequestIdMiddleware; Django's own 4xx warnings would repeat it.
            "django.request": {"level": "ERROR"},
        },
    }
