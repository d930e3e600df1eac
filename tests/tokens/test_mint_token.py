"""/mint-token/ against a patched upstream client: who may mint, CSRF, rate limit, error mapping."""
import logging
from datetime import timedelta

import pytest
from django.test import Client

from tests.tokens.fakes import CANARY_KEY
from tokens import client, services

from tests.tokens.fakes import TOKENS_NOW as NOW



@pytest.fixture
def upstream(monkeypatch, settings):
    """Replaces client.access_token_mint; `outcome` is a token string or an exception to raise."""
    settings.BGCUT_API_KEY = CANARY_KEY
    settings.BGCUT_MINT_TTL = 120
    state = {"outcome": "tok-abc", "calls": []}

    def fake(*, api_key, paths, expires_in):
        state["calls"].append({"api_key": api_key, "paths": paths, "expires_in": expires_in})
        if isinstance(state["outcome"], BaseException):
            raise state["outcome"]
        return state["outcome"]

    monkeypatch.setattr(client, "access_token_mint", fake)
    return state


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def signed_in(user):
    browser = Client()
    browser.force_login(user)
    return browser


def test_it_mints_a_scoped_short_lived_token_for_a_signed_in_user(signed_in, upstream, tokens_clock):
    response = signed_in.post("/mint-token/")
    assert response.status_code == 200
    assert response.json() == {"access_token": "tok-abc", "expires_at": "2026-11-24T04:02:00Z"}
    (call,) = upstream["calls"]
    assert call == {"api_key": CANARY_KEY, "paths": list(services.EDITOR_TOKEN_PATHS), "expires_in": 120}


def test_it_asks_for_exactly_the_paths_the_editor_calls():
    assert set(services.EDITOR_TOKEN_PATHS) == {
        "/v3/file-ops/upload/", "/v3/files/*", "/v3/file-ops/info/", "/v3/file-ops/get-public-url/",
        "/v3/tools/ai/remove-bg/process/", "/v3/tools/ai/ai-cut/segment/", "/v3/tools/ai/ai-cut/prepare/",
        "/v3/tools/ai/ai-cut/preview/",
    }
    assert "*" not in services.EDITOR_TOKEN_PATHS


def test_it_uses_the_ttl_setting(signed_in, upstream, tokens_clock, settings):
    settings.BGCUT_MINT_TTL = 30
    response = signed_in.post("/mint-token/")
    assert upstream["calls"][0]["expires_in"] == 30
    assert response.json()["expires_at"] == "2026-11-24T04:00:30Z"


def test_it_forbids_caching_the_answer(signed_in, upstream):
    response = signed_in.post("/mint-token/")
    assert "no-store" in response["Cache-Control"]


def test_it_never_logs_the_token(signed_in, upstream, caplog):
    upstream["outcome"] = "tok-secret-xyz"
    with caplog.at_level(logging.DEBUG):
        signed_in.post("/mint-token/")
        upstream["outcome"] = client.UpstreamTimeout("slow")
        signed_in.post("/mint-token/")
    assert "tok-secret-xyz" not in caplog.text
    assert CANARY_KEY not in caplog.text


@pytest.mark.parametrize(("failure", "status", "detail"), [
    (client.ApiKeyRejected("Invalid API key."), 502,
     "The server's API key was rejected by the v3 API; ask the operator to set BGCUT_API_KEY."),
    (client.UpstreamTimeout("slow"), 504, "The v3 API did not answer in time; try again in a moment."),
    (client.UpstreamUnreachable("refused"), 502, "The v3 API cannot be reached right now; try again in a moment."),
    (client.UpstreamFailed("boom", status=500), 502,
     "The v3 API could not mint a token; try again, or ask the operator to check the logs."),
])
def test_it_maps_each_upstream_failure_to_a_clear_json_error(signed_in, upstream, failure, status, detail):
    upstream["outcome"] = failure
    response = signed_in.post("/mint-token/")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("status", [429, 503])
def test_it_passes_upstream_backpressure_on_with_retry_after(signed_in, upstream, status):
    upstream["outcome"] = client.UpstreamRateLimited("Slow down.", retry_after=17, status=status)
    response = signed_in.post("/mint-token/")
    assert response.status_code == status
    assert response["Retry-After"] == "17"
    assert "17 seconds" in response.json()["detail"]


def test_it_refuses_get_with_json_405(signed_in, upstream):
    response = signed_in.get("/mint-token/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["detail"]
    assert upstream["calls"] == []


def test_it_refuses_an_anonymous_caller_with_json_not_a_login_redirect(client, upstream):
    response = client.post("/mint-token/")
    assert response.status_code == 401
    assert "Sign in" in response.json()["detail"]
    assert upstream["calls"] == []


def test_it_mints_nothing_for_an_old_embed_session_header(upstream):
    # Embed sessions used to mint on the server's own key; any such header is now just ignored.
    response = Client(enforce_csrf_checks=True).post("/mint-token/", headers={"X-Embed-Session": "eyJvIjoi.x.y"})
    assert response.status_code == 401
    assert upstream["calls"] == []


def test_it_requires_the_csrf_token_from_a_signed_in_browser(user, upstream):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    refused = browser.post("/mint-token/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert upstream["calls"] == []

    browser.get("/accounts/login/")  # any page that renders {% csrf_token %} sets the cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post("/mint-token/", headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


def test_it_refuses_a_forged_csrf_header(user, upstream):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/accounts/login/")
    response = browser.post("/mint-token/", headers={"X-CSRFToken": "x" * 32})
    assert response.status_code == 403
    assert upstream["calls"] == []


def test_it_rate_limits_each_user_with_retry_after(signed_in, upstream, tokens_clock, settings, django_user_model):
    settings.BGCUT_MINT_RATE = "3/min"
    tokens_clock["now"] = NOW + timedelta(seconds=15)
    assert [signed_in.post("/mint-token/").status_code for _ in range(3)] == [200, 200, 200]
    limited = signed_in.post("/mint-token/")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "45"
    assert limited.json()["detail"] == "Too many tokens minted: retry after 45 seconds."
    assert len(upstream["calls"]) == 3

    other = Client()
    other.force_login(django_user_model.objects.create_user("bob", password="pw-bob-12345"))
    assert other.post("/mint-token/").status_code == 200

    tokens_clock["now"] = NOW + timedelta(seconds=61)
    assert signed_in.post("/mint-token/").status_code == 200
