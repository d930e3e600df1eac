"""Request ids: taken from a sane X-Request-ID or made up, returned, and on every log line (JSON or text)."""
import io
import json
import logging

import pytest

from lib.request_log import JsonFormatter, RequestIdFilter, logging_config, request_id_choose


def test_it_gives_each_request_a_new_id_and_returns_it(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_it_keeps_the_proxys_id_when_it_looks_like_one(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="req-7f3a.01")["X-Request-ID"] == "req-7f3a.01"


@pytest.mark.parametrize("offered", ["", "has space", "line\nbreak", "x" * 200, '"quoted"', "-starts-with-dash"])
def test_it_replaces_an_id_that_could_forge_or_flood_a_log_line(offered):
    chosen = request_id_choose(offered)
    assert chosen != offered and len(chosen) == 32


@pytest.fixture
def json_lines():
    """Every bgcut.request and engine line, formatted as in production with BGCUT_LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(name) for name in ("bgcut.request", "engine.health")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_each_log_line_is_one_json_object_carrying_the_request_id(client, json_lines, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    monkeypatch.setattr("engine.health.cache", RedisCache("redis://127.0.0.1:1/0", {}))
    response = client.get("/readyz", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
    lines = json_lines()
    warning, access = lines[-2], lines[-1]  # the failing check's line, then the request's own line
    assert warning["logger"] == "engine.health" and warning["level"] == "WARNING"
    assert warning["request_id"] == access["request_id"] == "abc123"
    assert access["http"]["route"] == "readyz" and access["http"]["status"] == 503
    assert set(access) >= {"time", "level", "logger", "message", "request_id", "http"}


def test_outside_a_request_the_id_is_a_dash(json_lines):
    logging.getLogger("engine.health").warning("a line from a background thread")
    assert json_lines()[-1]["request_id"] == "-"


def test_the_log_format_must_be_json_or_text():
    assert logging_config(fmt="json", level="INFO")["formatters"]["main"]["()"].endswith("JsonFormatter")
    with pytest.raises(ValueError, match="BGCUT_LOG_FORMAT"):
        logging_config(fmt="yaml", level="INFO")


@pytest.mark.django_db
def test_a_browser_on_an_allowed_origin_may_read_the_id(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    response = client.get("/v3/file-ops/usage/", HTTP_ORIGIN="https://app.example")
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"].split(", ")
