"""Test doubles for the upstream v3 API, shared by tests/tokens and tests/editor."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

CANARY_KEY = "bgk_CANARY_0123456789_do_not_leak_abcdefghij"
TOKENS_NOW = datetime(2026, 11, 24, 4, 0, 0, tzinfo=timezone.utc)  # where tokens_clock starts


class FakeResponse(requests.Response):
    """A real `requests.Response` with a canned status, headers and JSON (or raw) body."""

    def __init__(self, status: int, body=None, *, headers: dict | None = None, raw: bytes | None = None):
        super().__init__()
        self.status_code = status
        self._content = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.headers.update({"Content-Type": "application/json", **(headers or {})})


@dataclass
class FakeUpstream:
    """Stands in for `requests.request`: answers by URL path, records every call."""
    answers: dict = field(default_factory=dict)  # path -> FakeResponse | Exception
    calls: list = field(default_factory=list)

    def __call__(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        path = requests.utils.urlparse(url).path
        answer = self.answers.get(path)
        if answer is None:
            return FakeResponse(404, {"detail": "Not found."})
        if isinstance(answer, BaseException):
            raise answer
        return answer


def ops_job(**overrides) -> dict:
    job = {
        "id": "job-1", "account": "acme", "tool": "remove-bg",
        "parameters": {"input_file_path": "shop/shoe.jpg", "output_variants": [{"format": "png"}]},
        "status": "ok", "error": "", "started_at": "2026-11-24T03:00:00Z", "duration_ms": 812,
        "input_path": "shop/shoe.jpg",
        "outputs": [{"path": "shop/shoe.png", "url": "/v3/public/signed-abc"}],
    }
    job.update(overrides)
    return job
