"""/embed/ticket/ (a customer's backend, with its API key) and /embed/ (the framed editor)."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.tokens.fakes import CANARY_KEY
from tokens import client, embed

from tests.tokens.fakes import TOKENS_NOW as NOW
CUSTOMER_KEY = "customer-key-123"
PARENT = "https://shop.example"



@pytest.fixture
def upstream(monkeypatch, settings):
    """Upstream accepts CUSTOMER_KEY (and the server's key) and rejects any other."""
    settings.BGCUT_API_KEY = CANARY_KEY
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = [PARENT]
    calls = []

    def fake(*, api_key, paths, expires_in):
        calls.append({"api_key": api_key, "paths": paths, "expires_in": expires_in})
        if api_key not in (CUSTOMER_KEY, CANARY_KEY):
            raise client.ApiKeyRejected("Invalid API key.")
        return "tok-embed"

    monkeypatch.setattr(client, "access_token_mint", fake)
    return calls


def ticket_request(origin=PARENT, key=CUSTOMER_KEY, **extra):
    headers = {"Authorization": f"Token {key}"} if key is not None else {}
    return Client().post("/embed/ticket/", {"origin": origin}, content_type="application/json",
                         headers=headers, **extra)


def test_a_customer_backend_gets_a_ticket_and_an_embed_url(upstream, db):
    response = ticket_request()
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 60
    url = urlsplit(body["embed_url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/embed/")
    assert parse_qs(url.query)["ticket"] == [body["ticket"]]
    # The key was checked with one cheap upstream call: a 1-second token.
    (call,) = upstream
    assert call["api_key"] == CUSTOMER_KEY and call["expires_in"] == 1


def test_a_ticket_needs_an_api_key(upstream, db):
    response = ticket_request(key=None)
    assert response.status_code == 401
    assert "Authorization: Token" in response.json()["detail"]
    assert upstream == []


def test_a_ticket_is_refused_for_a_key_upstream_rejects(upstream, db):
    response = ticket_request(key="wrong-key")
    assert response.status_code == 401
    assert response.json() == {"detail": "The v3 API rejected this API key."}


def test_a_ticket_is_refused_for_an_origin_not_allowed(upstream, db):
    response = ticket_request(origin="https://evil.example")
    assert response.status_code == 403
    assert "BGCUT_EMBED_ALLOWED_ORIGINS" in response.json()["detail"]
    assert upstream == []


@pytest.mark.parametrize("origin", ["", "shop.example", "https://shop.example/checkout", None])
def test_a_ticket_is_refused_for_something_that_is_not_an_origin(upstream, db, origin):
    response = ticket_request(origin=origin)
    assert response.status_code == 400


def test_a_ticket_request_must_be_json(upstream, db):
    response = Client().post("/embed/ticket/", "{not json", content_type="application/json",
                             headers={"Authorization": f"Token {CUSTOMER_KEY}"})
    assert response.status_code == 400


def test_a_ticket_request_must_be_a_post(upstream, db):
    response = Client().get("/embed/ticket/")
    assert response.status_code == 405
    assert response.json()["detail"]


def test_ticket_requests_are_rate_limited_per_client(upstream, db, settings):
    settings.BGCUT_MINT_RATE = "2/min"
    codes = [ticket_request().status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert ticket_request()["Retry-After"]


@pytest.mark.parametrize(("failure", "status"), [
    (client.UpstreamTimeout("slow"), 504),
    (client.UpstreamUnreachable("down"), 502),
    (client.UpstreamRateLimited("busy", retry_after=9), 429),
])
def test_a_ticket_request_reports_upstream_trouble(monkeypatch, settings, db, failure, status):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = [PARENT]

    def fake(**kwargs):
        raise failure

    monkeypatch.setattr(client, "access_token_mint", fake)
    response = ticket_request()
    assert response.status_code == status
    assert response.json()["detail"]


def test_the_embed_page_opens_once_per_ticket_framed_only_by_its_origin(upstream, db):
    ticket = ticket_request().json()["ticket"]
    browser = Client()
    page = browser.get("/embed/", {"ticket": ticket})
    assert page.status_code == 200
    assert page["Content-Security-Policy"] == f"frame-ancestors {PARENT}"
    assert "X-Frame-Options" not in page
    assert "no-store" in page["Cache-Control"]
    assert page.context["embed"] is True
    assert page.context["embed_parent_origin"] == PARENT
    assert page.context["api_base"] == ""
    assert page.context["mint_url"] == "/mint-token/"
    session = embed.embed_session_verify(token=page.context["embed_session_token"])
    assert session.origin == PARENT

    # Another browser (no session) cannot reuse the ticket.
    reused = Client().get("/embed/", {"ticket": ticket})
    assert reused.status_code == 403
    assert "already used" in reused.content.decode()


def test_the_embed_page_token_mints_without_cookies_or_csrf(upstream, db):
    ticket = ticket_request().json()["ticket"]
    token = Client().get("/embed/", {"ticket": ticket}).context["embed_session_token"]
    # A cross-site iframe may send no cookies at all: the header alone must do.
    minted = Client(enforce_csrf_checks=True).post("/mint-token/", headers={"X-Embed-Session": token})
    assert minted.status_code == 200
    assert upstream[-1]["api_key"] == CANARY_KEY  # embed sessions mint with the server's own key


def test_a_same_site_embed_session_survives_a_reload(upstream, db):
    ticket = ticket_request().json()["ticket"]
    browser = Client()
    assert browser.get("/embed/", {"ticket": ticket}).status_code == 200
    reload = browser.get("/embed/", {"ticket": ticket})
    assert reload.status_code == 200
    assert reload["Content-Security-Policy"] == f"frame-ancestors {PARENT}"


def test_the_embed_page_refuses_an_expired_ticket(upstream, db, tokens_clock):
    ticket = ticket_request().json()["ticket"]
    tokens_clock["now"] = NOW + timedelta(seconds=61)
    page = Client().get("/embed/", {"ticket": ticket})
    assert page.status_code == 403
    assert "expired" in page.content.decode()
    assert page["Content-Security-Policy"] == f"frame-ancestors {PARENT}"
    assert "X-Frame-Options" not in page


@pytest.mark.parametrize("ticket", ["", "garbage", None])
def test_the_embed_page_refuses_a_missing_or_tampered_ticket(upstream, db, ticket):
    if ticket is None:  # a real ticket with one character changed
        good = ticket_request().json()["ticket"]
        ticket = good[:-1] + ("A" if good[-1] != "A" else "B")
    page = Client().get("/embed/", {"ticket": ticket} if ticket else {})
    assert page.status_code == 403
    assert 'data-testid="error-message"' in page.content.decode()


def test_the_embed_refusal_is_not_framable_when_no_origin_is_allowed(settings, db):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = []
    page = Client().get("/embed/")
    assert page.status_code == 403
    assert page["Content-Security-Policy"] == "frame-ancestors 'none'"
