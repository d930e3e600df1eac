"""The one upstream client: one function per v3 endpoint the site calls, with named exceptions.

Everything here talks HTTP to `settings.BGCUT_API_BASE`; nothing imports the engine, so the site works
unchanged against a remote v3 deployment. Keys and tokens are never logged.
"""
from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests
from django.conf import settings

# Connect fast, read a little longer: minting is cheap upstream, but a busy deployment may queue it.
TIMEOUT = (3.05, 10.0)


class UpstreamError(Exception):
    """Base class: the v3 API could not give us what we asked for."""


class ApiKeyRejected(UpstreamError):
    """The API key was missing, unknown, revoked or lacks the right (401/403 upstream)."""


class UpstreamRateLimited(UpstreamError):
    """Upstream said 429 (or 503): wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int, status: int = 429):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class UpstreamTimeout(UpstreamError):
    """Upstream did not answer in time."""


class UpstreamUnreachable(UpstreamError):
    """No connection to upstream (refused, DNS, TLS)."""


class UpstreamFailed(UpstreamError):
    """Any other answer we cannot use: an unexpected status or a malformed body."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OpsJobOutput:
    path: str
    url: str | None


@dataclass(frozen=True)
class OpsJob:
    id: str
    account: str
    tool: str
    parameters: Any
    status: str
    error: str
    started_at: datetime | None
    duration_ms: int | None
    input_path: str
    outputs: tuple[OpsJobOutput, ...]
    input_url: str | None = None
    http_status: int | None = None
    timings: dict[str, int] | None = None  # milliseconds per stage
    session: OpsSession | None = None  # an AI Cut session: this job is its last click


@dataclass(frozen=True)
class OpsSession:
    clicks: int
    failed: int
    total_ms: int
    first_started_at: datetime | None
    jobs: tuple[OpsJob, ...]  # oldest first


@dataclass(frozen=True)
class OpsJobPage:
    count: int
    page: int
    pages: int
    results: tuple[OpsJob, ...]
    page_size: int = 25


def _url(path: str) -> str:
    return f"{settings.BGCUT_API_BASE}{path}"


def _retry_after(response: requests.Response) -> int:
    """Seconds to wait, from either form of Retry-After; at least 1."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return max(1, int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(1, int((when - datetime.now(timezone.utc)).total_seconds() + 0.999))


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else ""


def _send(method: str, path: str, *, api_key: str, **kwargs) -> dict:
    """One request with the `Token` header; every failure becomes a named exception."""
    if not api_key:
        raise ApiKeyRejected("No API key is configured.")
    headers = {"Authorization": f"Token {api_key}", "Accept": "application/json"}
    try:
        response = requests.request(method, _url(path), headers=headers, timeout=TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        raise UpstreamTimeout(f"The v3 API did not answer {path} in time.") from exc
    except requests.RequestException as exc:
        # Not `str(exc)`: it is safe, but the class name is all an operator needs here.
        raise UpstreamUnreachable(f"Could not connect to the v3 API ({type(exc).__name__}).") from exc
    status = response.status_code
    if status in (401, 403):
        raise ApiKeyRejected(_detail(response) or f"The v3 API answered {status}.")
    if status in (429, 503):
        raise UpstreamRateLimited(
            _detail(response) or "The v3 API is busy.", retry_after=_retry_after(response), status=status
        )
    if status == 504:
        raise UpstreamTimeout(_detail(response) or f"The v3 API timed out on {path}.")
    if status != 200:
        raise UpstreamFailed(_detail(response) or f"The v3 API answered {status}.", status=status)
    try:
        body = response.json()
    except ValueError as exc:
        raise UpstreamFailed("The v3 API answered with something other than JSON.", status=status) from exc
    if not isinstance(body, dict):
        raise UpstreamFailed("The v3 API answered with an unexpected JSON shape.", status=status)
    return body


def access_token_mint(*, api_key: str, paths: list[str], expires_in: int) -> str:
    """`POST /v3/auth/access-token/`: a token scoped to `paths`, valid `expires_in` seconds."""
    body = _send(
        "POST", "/v3/auth/access-token/", api_key=api_key, json={"paths": paths, "expires_in": expires_in}
    )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise UpstreamFailed("The v3 API answered without an access_token.", status=200)
    return token


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _session(raw: Any) -> OpsSession | None:
    if not isinstance(raw, dict):
        return None
    return OpsSession(
        clicks=_int_or_none(raw.get("clicks")) or 0, failed=_int_or_none(raw.get("failed")) or 0,
        total_ms=_int_or_none(raw.get("total_ms")) or 0, first_started_at=_parse_time(raw.get("first_started_at")),
        jobs=tuple(_job(item) for item in raw.get("jobs") or () if isinstance(item, dict)),
    )


def _job(raw: dict) -> OpsJob:
    outputs = tuple(
        OpsJobOutput(path=str(item.get("path", "")), url=item.get("url") or None)
        for item in raw.get("outputs") or ()
        if isinstance(item, dict)
    )
    duration = raw.get("duration_ms")
    timings = raw.get("timings")
    return OpsJob(
        id=str(raw.get("id", "")),
        account=str(raw.get("account", "")),
        tool=str(raw.get("tool", "")),
        parameters=raw.get("parameters"),
        status=str(raw.get("status", "")),
        error=str(raw.get("error") or ""),
        started_at=_parse_time(raw.get("started_at")),
        duration_ms=int(duration) if isinstance(duration, int | float) else None,
        input_path=str(raw.get("input_path") or ""),
        outputs=outputs,
        input_url=raw.get("input_url") or None,
        http_status=_int_or_none(raw.get("http_status")),
        timings={str(k): v for k, v in timings.items() if _int_or_none(v) is not None} if isinstance(timings, dict) else {},
        session=_session(raw.get("session")),
    )


def ops_jobs_list(*, api_key: str, query: Mapping[str, str | int] | None = None) -> OpsJobPage:
    """`GET /v3/ops/jobs/`: one page of rows of the job log, newest first, filtered by `query` (the
    endpoint's parameters, which it validates: a refusal is an UpstreamFailed with status 400)."""
    params = {name: value for name, value in (query or {}).items() if value not in ("", None)}
    body = _send("GET", "/v3/ops/jobs/", api_key=api_key, params=params)
    try:
        results = tuple(_job(item) for item in body.get("results") or () if isinstance(item, dict))
        return OpsJobPage(
            count=int(body.get("count", len(results))),
            page=int(body.get("page", 1)),
            pages=max(1, int(body.get("pages", 1))),
            results=results,
            page_size=int(body.get("page_size", 25)),
        )
    except (TypeError, ValueError) as exc:
        raise UpstreamFailed("The v3 API answered /v3/ops/jobs/ with an unexpected shape.", status=200) from exc


def ops_accounts_list(*, api_key: str) -> list[str]:
    """`GET /v3/ops/accounts/`: account names, for the ops page's filter."""
    body = _send("GET", "/v3/ops/accounts/", api_key=api_key)
    return sorted(
        str(item["name"]) for item in body.get("results") or () if isinstance(item, dict) and "name" in item
    )
