"""tokens.client: one function per v3 endpoint, every failure a named exception."""
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from tests.tokens.fakes import CANARY_KEY, FakeResponse, FakeUpstream, ops_job
from tokens import client


@pytest.fixture
def upstream(monkeypatch, settings):
    settings.BGCUT_API_BASE = "http://upstream.test"
    fake = FakeUpstream()
    monkeypatch.setattr(client.requests, "request", fake)
    return fake


def test_it_mints_with_the_token_header_the_paths_and_the_ttl(upstream):
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(200, {"access_token": "tok-1"})
    token = client.access_token_mint(api_key=CANARY_KEY, paths=["/v3/files/*"], expires_in=120)
    assert token == "tok-1"
    (call,) = upstream.calls
    assert call["method"] == "POST"
    assert call["url"] == "http://upstream.test/v3/auth/access-token/"
    assert call["headers"]["Authorization"] == f"Token {CANARY_KEY}"
    assert call["json"] == {"paths": ["/v3/files/*"], "expires_in": 120}
    assert call["timeout"] == client.TIMEOUT


def test_it_refuses_to_call_upstream_without_a_key(upstream):
    with pytest.raises(client.ApiKeyRejected):
        client.access_token_mint(api_key="", paths=["*"], expires_in=60)
    assert upstream.calls == []


@pytest.mark.parametrize("status", [401, 403])
def test_it_names_a_rejected_key(upstream, status):
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(status, {"detail": "Invalid API key."})
    with pytest.raises(client.ApiKeyRejected):
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)


@pytest.mark.parametrize("status", [429, 503])
def test_it_passes_on_retry_after_in_seconds(upstream, status):
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(status, {"detail": "Slow down."},
                                                              headers={"Retry-After": "17"})
    with pytest.raises(client.UpstreamRateLimited) as caught:
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)
    assert caught.value.retry_after == 17
    assert caught.value.status == status


def test_it_reads_retry_after_given_as_a_date(upstream):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(429, {}, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(client.UpstreamRateLimited) as caught:
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)
    assert 25 <= caught.value.retry_after <= 31


def test_it_waits_at_least_a_second_when_retry_after_is_missing(upstream):
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(429, {})
    with pytest.raises(client.UpstreamRateLimited) as caught:
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)
    assert caught.value.retry_after == 1


def test_it_names_a_timeout(upstream):
    upstream.answers["/v3/auth/access-token/"] = requests.ReadTimeout("slow")
    with pytest.raises(client.UpstreamTimeout):
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)


def test_it_names_an_upstream_504_as_a_timeout(upstream):
    upstream.answers["/v3/auth/access-token/"] = FakeResponse(504, {"detail": "Too slow."})
    with pytest.raises(client.UpstreamTimeout):
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)


def test_it_names_a_connection_failure(upstream):
    upstream.answers["/v3/auth/access-token/"] = requests.ConnectionError("refused")
    with pytest.raises(client.UpstreamUnreachable):
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)


@pytest.mark.parametrize("answer", [
    FakeResponse(500, {"detail": "Internal server error."}),
    FakeResponse(200, raw=b"<html>proxy error</html>"),
    FakeResponse(200, ["not", "an", "object"]),
    FakeResponse(200, {"token": "wrong-field"}),
    FakeResponse(200, {"access_token": ""}),
])
def test_it_names_an_answer_it_cannot_use(upstream, answer):
    upstream.answers["/v3/auth/access-token/"] = answer
    with pytest.raises(client.UpstreamFailed):
        client.access_token_mint(api_key=CANARY_KEY, paths=["*"], expires_in=60)


def test_it_lists_jobs_with_filters_and_parses_them(upstream):
    upstream.answers["/v3/ops/jobs/"] = FakeResponse(200, {
        "count": 41, "page": 2, "pages": 3,
        "results": [ops_job(), ops_job(id="job-2", status="failed", error="Input is not an image.",
                                       outputs=[{"path": "x.png", "url": None}], duration_ms=None,
                                       started_at=None)],
    })
    page = client.ops_jobs_list(api_key=CANARY_KEY, query={"status": "failed", "account": "acme", "page": 2})
    assert upstream.calls[0]["params"] == {"page": 2, "status": "failed", "account": "acme"}
    assert upstream.calls[0]["headers"]["Authorization"] == f"Token {CANARY_KEY}"
    assert (page.count, page.page, page.pages) == (41, 2, 3)
    first, second = page.results
    assert first.started_at == datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    assert first.outputs[0].url == "/v3/public/signed-abc"
    assert (second.status, second.error, second.duration_ms) == ("failed", "Input is not an image.", None)
    assert second.outputs[0].url is None and second.started_at is None


def test_it_leaves_out_empty_filters(upstream):
    upstream.answers["/v3/ops/jobs/"] = FakeResponse(200, {"count": 0, "page": 1, "pages": 1, "results": []})
    client.ops_jobs_list(api_key=CANARY_KEY, query={"status": "", "tool": "ai-cut", "path": None})
    assert upstream.calls[0]["params"] == {"tool": "ai-cut"}


def test_it_parses_an_ai_cut_session_with_its_clicks_timings_and_input_url(upstream):
    click = ops_job(id=7, tool="ai-cut", timings={"segment": 40, "store": 3, "odd": "x"}, http_status=200,
                    input_url="/v3/public/signed-in")
    upstream.answers["/v3/ops/jobs/"] = FakeResponse(200, {"count": 1, "page": 1, "pages": 1, "page_size": 10,
        "results": [{**click, "session": {"clicks": 2, "failed": 0, "total_ms": 90,
                                          "first_started_at": "2026-11-24T02:59:00Z", "jobs": [click, click]}}]})
    page = client.ops_jobs_list(api_key=CANARY_KEY)
    (row,) = page.results
    assert page.page_size == 10
    assert (row.input_url, row.http_status, row.timings) == ("/v3/public/signed-in", 200, {"segment": 40, "store": 3})
    assert (row.session.clicks, row.session.total_ms, len(row.session.jobs)) == (2, 90, 2)
    assert row.session.first_started_at == datetime(2026, 11, 24, 2, 59, tzinfo=timezone.utc)
    assert client._job(ops_job()).session is None


def test_it_lists_account_names_sorted(upstream):
    upstream.answers["/v3/ops/accounts/"] = FakeResponse(200, {"results": [{"name": "zeta"}, {"name": "acme"}]})
    assert client.ops_accounts_list(api_key=CANARY_KEY) == ["acme", "zeta"]
