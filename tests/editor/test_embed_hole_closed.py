"""The old hole: an embedded page got tokens minted on the site operator's key. No route does that now."""
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.tokens.fakes import CANARY_KEY, FakeResponse, FakeUpstream
from tokens import client

PARENT = "https://shop.example"
CUSTOMER_KEY = "customer-key-123"


@pytest.fixture
def upstream(monkeypatch, settings):
    """The real tokens.client runs; only HTTP is faked, and every call is recorded."""
    settings.BGCUT_API_KEY = CANARY_KEY
    settings.BGCUT_API_BASE = "http://upstream.test"
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = [PARENT]
    fake = FakeUpstream(answers={"/v3/auth/access-token/": FakeResponse(200, {"access_token": "tok-operator"})})
    monkeypatch.setattr(client.requests, "request", fake)
    return fake


def site_paths(patterns=None, prefix=""):
    """Every concrete path the site routes outside the engine (/v3/), the API docs and the admin."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(("v3/", "api/", "admin/")):
            continue
        if isinstance(entry, URLResolver):
            yield from site_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and "<" not in route and not route.startswith("^"):
            yield "/" + route


def test_the_site_routes_are_found(upstream):
    paths = set(site_paths())
    assert {"/", "/embed/", "/mint-token/", "/accounts/login/", "/ops/"} <= paths
    assert "/embed/ticket/" not in paths


def test_no_route_mints_on_the_operators_key_for_an_embedded_page(upstream, db):
    # What an embedded page (or a customer's backend) could send: the parent's Origin, the old
    # embed header, a customer's key, with and without the embed page loaded first in the same browser.
    browser = Client()
    assert browser.get("/embed/", {"origin": PARENT}).status_code == 200
    headers = {"Origin": PARENT, "X-Embed-Session": "anything", "Authorization": f"Token {CUSTOMER_KEY}"}
    answers = {}
    for path in sorted(site_paths()):
        for method in ("get", "post"):
            for caller in (browser, Client()):
                response = getattr(caller, method)(path, {"origin": PARENT}, headers=headers)
                answers[(method, path)] = response.status_code
                body = response.getvalue() if response.streaming else response.content
                assert b"tok-operator" not in body, f"{method.upper()} {path} handed out an operator token"
    assert upstream.calls == [], f"the server's key was used: {upstream.calls}"
    assert answers[("post", "/mint-token/")] == 401


def test_the_old_ticket_endpoint_is_gone(upstream, db):
    response = Client().post("/embed/ticket/", {"origin": PARENT}, content_type="application/json",
                             headers={"Authorization": f"Token {CUSTOMER_KEY}"})
    assert response.status_code == 404
    assert upstream.calls == []
