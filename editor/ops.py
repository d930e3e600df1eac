"""Presenting the v3 job log on the ops page: plain functions, no HTTP here."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tokens import client

TOOLS = ("remove-bg", "ai-cut")
STATUSES = ("ok", "failed", "running")
WITHIN = (("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"))
PAGE_SIZES = (25, 50, 100)
# The query the page keeps in its URL and hands to GET /v3/ops/jobs/ as it is: the engine validates it.
FILTERS = ("tool", "status", "account", "within", "since", "until", "path", "page_size")
MAX_FILTER_LENGTH = 200


@dataclass(frozen=True)
class Thumb:
    path: str
    url: str | None  # a signed URL the browser can load without a header, while the file exists

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass(frozen=True)
class Stage:
    name: str
    ms: int
    percent: int  # of the job's slowest stage, for a bar


@dataclass(frozen=True)
class Detail:
    """What a reviewer reads about one job: parameters as lines, stages, the error."""

    parameters: tuple[tuple[str, str], ...]
    parameters_json: str
    stages: tuple[Stage, ...]
    error: str
    http_status: int | None


@dataclass(frozen=True)
class Click:
    number: int
    job: client.OpsJob
    points: str  # "2 include, 1 exclude"
    detail: Detail


@dataclass(frozen=True)
class Row:
    job: client.OpsJob  # the job itself, or the session's last click
    input: Thumb | None
    outputs: tuple[Thumb, ...]
    detail: Detail
    session: client.OpsSession | None
    clicks: tuple[Click, ...]
    duration: str  # the job's, or the session's summed processing time

    @property
    def span(self) -> str:
        """How long the session lasted: from its first click to its last click's answer."""
        if not (self.session and self.session.first_started_at and self.job.started_at):
            return ""
        elapsed = (self.job.started_at - self.session.first_started_at).total_seconds() * 1000
        return duration_words(elapsed + (self.job.duration_ms or 0))


def filters_from(query) -> dict[str, str]:
    """The known filters of a request's query, trimmed and bounded; the engine says what is wrong with them."""
    return {name: query.get(name, "").strip()[:MAX_FILTER_LENGTH] for name in FILTERS}


def duration_words(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{round(ms)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}".removesuffix(".0") + " s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def _words(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            return ", ".join(f"({_words(a)}, {_words(b)})" for a, b in value)  # points
        return ", ".join(_words(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_words(v)}" for k, v in value.items())
    return str(value)


def parameter_lines(parameters: Any) -> tuple[tuple[str, str], ...]:
    """("quality", "high")-style lines for any parameters; each item of a list of objects (remove-bg's
    variants) is one line of its own fields: "variants 2", "output file path: a.webp, format: webp, ..."."""
    if not isinstance(parameters, dict):
        return (("parameters", _words(parameters)),)
    lines = []
    for key, value in parameters.items():
        label = str(key).replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines += [(f"{label} {n}", ", ".join(f"{k.replace('_', ' ')}: {_words(v)}" for k, v in item.items()))
                      for n, item in enumerate(value, 1)]
        else:
            lines.append((label, _words(value)))
    return tuple(lines)


def job_detail(job: client.OpsJob) -> Detail:
    timings = job.timings or {}
    slowest = max(timings.values(), default=0) or 1
    return Detail(
        parameters=parameter_lines(job.parameters),
        parameters_json=json.dumps(job.parameters, indent=2, sort_keys=True, default=str),
        stages=tuple(Stage(name=name, ms=int(ms), percent=max(1, round(100 * ms / slowest)))
                     for name, ms in timings.items()),
        error=job.error,
        http_status=job.http_status,
    )


def _points(parameters: Any) -> str:
    if not isinstance(parameters, dict):
        return "–"
    include = len(parameters.get("foreground_points") or ())
    exclude = len(parameters.get("background_points") or ())
    return f"{include} include, {exclude} exclude"


def _browser_url(*, url: str | None, api_base: str, public_base: str) -> str | None:
    """Signed URLs point at the v3 API as browsers reach it, not at the server-side base we called."""
    if not url:
        return None
    # The engine builds absolute URLs from the host we called (often an internal address).
    if api_base and url.startswith(f"{api_base}/"):
        url = url[len(api_base):]
    return f"{public_base}{url}" if url.startswith("/") else url


def job_rows(*, page: client.OpsJobPage, api_base: str, public_base: str) -> list[Row]:
    def browser(url: str | None) -> str | None:
        return _browser_url(url=url, api_base=api_base, public_base=public_base)

    rows = []
    for job in page.results:
        session = job.session
        clicks = tuple(
            Click(number=session.clicks - len(session.jobs) + n, job=click, points=_points(click.parameters),
                  detail=job_detail(click))
            for n, click in enumerate(session.jobs, 1)
        ) if session else ()
        rows.append(Row(
            job=job,
            input=Thumb(path=job.input_path, url=browser(job.input_url)) if job.input_path else None,
            outputs=tuple(Thumb(path=o.path, url=browser(o.url)) for o in job.outputs),
            detail=job_detail(job),
            session=session,
            clicks=clicks,
            duration=duration_words(session.total_ms if session else job.duration_ms),
        ))
    return rows


def failure_message(exc: client.UpstreamError) -> str:
    """A sentence an operator can act on, for each way the job log can be unavailable."""
    if isinstance(exc, client.ApiKeyRejected):
        return ("The v3 API refused the server's API key for the job log: set BGCUT_API_KEY to the key "
                "of an operator account.")
    if isinstance(exc, client.UpstreamRateLimited):
        return f"The v3 API is busy: reload in {exc.retry_after} seconds."
    if isinstance(exc, client.UpstreamTimeout):
        return "The v3 API did not answer in time: reload in a moment."
    if isinstance(exc, client.UpstreamUnreachable):
        return "The v3 API cannot be reached: check BGCUT_API_BASE and that the service is running."
    if isinstance(exc, client.UpstreamFailed) and exc.status == 400 and str(exc):
        return f"These filters cannot be used: {exc}"
    return "The v3 API could not list jobs: check the server's logs."
