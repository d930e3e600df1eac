"""Presenting the v3 job log on the ops page: plain functions, no HTTP here."""
from __future__ import annotations

import json
from dataclasses import dataclass

from tokens import client


@dataclass(frozen=True)
class OutputRow:
    path: str
    url: str | None  # a signed URL the browser can load without a header, while the file exists


@dataclass(frozen=True)
class JobRow:
    job: client.OpsJob
    parameters_json: str
    outputs: tuple[OutputRow, ...]


def _browser_url(*, url: str | None, api_base: str, public_base: str) -> str | None:
    """Signed URLs point at the v3 API as browsers reach it, not at the server-side base we called."""
    if not url:
        return None
    # The engine builds absolute URLs from the host we called (often an internal address).
    if api_base and url.startswith(f"{api_base}/"):
        url = url[len(api_base):]
    return f"{public_base}{url}" if url.startswith("/") else url


def job_rows(*, page: client.OpsJobPage, api_base: str, public_base: str) -> list[JobRow]:
    return [
        JobRow(
            job=job,
            parameters_json=json.dumps(job.parameters, indent=2, sort_keys=True, default=str),
            outputs=tuple(OutputRow(path=o.path, url=_browser_url(url=o.url, api_base=api_base, public_base=public_base))
                          for o in job.outputs),
        )
        for job in page.results
    ]


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
    return "The v3 API could not list jobs: check the server's logs."
