"""/embed/?origin=...: the editor, framed by one allowed origin, holding no credential of its own."""
import pytest
from django.test import Client

from editor import embed

PARENT = "https://shop.example"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(autouse=True)
def allowed(settings):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = [PARENT, "http://localhost:8123", "not an origin"]
    return settings


@pytest.mark.parametrize(("raw", "normalised"), [
    ("https://shop.example", "https://shop.example"),
    ("HTTPS://Shop.Example:443/", "https://shop.example"),
    ("http://localhost:8123", "http://localhost:8123"),
    ("http://[::1]:8000", "http://[::1]:8000"),
])
def test_it_normalises_an_origin(raw, normalised):
    assert embed.origin_normalise(origin=raw) == normalised


@pytest.mark.parametrize("raw", [
    "", "shop.example", "javascript:alert(1)", "https://shop.example/page", "https://shop.example?x=1",
    "https://user:pw@shop.example", "ftp://shop.example", "https://shop.example:99999", None, 42,
    "https://[::1", "http://[not-ipv6]", "https://[::1]:x",
])
def test_it_refuses_what_is_not_a_bare_origin(raw):
    with pytest.raises(embed.OriginInvalid):
        embed.origin_normalise(origin=raw)


def test_it_refuses_an_origin_that_is_not_allowed():
    assert embed.allowed_origins() == [PARENT, "http://localhost:8123"]  # the malformed entry is skipped
    with pytest.raises(embed.OriginNotAllowed):
        embed.origin_check(origin="https://evil.example")
    with pytest.raises(embed.OriginNotAllowed):
        embed.origin_check(origin="http://shop.example")  # scheme is part of the origin


def test_the_embed_page_opens_for_an_allowed_origin_framed_by_it_only(db):
    page = Client().get("/embed/", {"origin": "HTTPS://Shop.Example"}, headers=HTML)
    assert page.status_code == 200
    assert page["Content-Security-Policy"] == f"frame-ancestors {PARENT}"
    assert "X-Frame-Options" not in page
    assert "no-store" in page["Cache-Control"]
    assert page.context["embed"] is True
    assert page.context["embed_parent_origin"] == PARENT
    html = page.content.decode()
    assert f'data-parent-origin="{PARENT}"' in html
    assert 'data-embed="true"' in html
    # Nothing to mint with: no mint URL, no CSRF token, no session cookie.
    assert 'data-mint-url=""' in html and 'data-csrf-token=""' in html
    assert not page.cookies


def test_reloading_the_embed_page_works_every_time(db):
    browser = Client()
    for _ in range(3):
        assert browser.get("/embed/", {"origin": PARENT}, headers=HTML).status_code == 200


@pytest.mark.parametrize("origin", ["https://[::1", "https://[::1]:99999", "shop.example", "https://shop.example/x"])
def test_a_malformed_origin_is_a_400_with_a_sentence_not_a_500(db, origin):
    page = Client().get("/embed/", {"origin": origin})
    assert page.status_code == 400
    assert page["Content-Type"] == "application/json"
    assert "is not an origin: send scheme://host[:port]" in page.json()["detail"]
    framed = Client().get("/embed/", {"origin": origin}, headers=HTML)
    assert framed.status_code == 400
    assert "is not an origin" in framed.content.decode()
    assert framed["Content-Security-Policy"] == f"frame-ancestors {PARENT} http://localhost:8123"


def test_a_missing_origin_says_how_to_open_the_page(db):
    page = Client().get("/embed/")
    assert page.status_code == 400
    assert page.json() == {"detail": "Give the parent page's origin, e.g. /embed/?origin=https://shop.example."}


def test_an_origin_not_allowed_is_a_403_naming_the_setting(db):
    page = Client().get("/embed/", {"origin": "https://evil.example"}, headers=HTML)
    assert page.status_code == 403
    assert "BGCUT_EMBED_ALLOWED_ORIGINS" in page.content.decode()
    assert 'data-testid="error-message"' in page.content.decode()
    assert "X-Frame-Options" not in page


def test_the_refusal_is_not_framable_when_no_origin_is_allowed(settings, db):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = []
    page = Client().get("/embed/", {"origin": PARENT})
    assert page.status_code == 403
    assert page["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_embed_page_answers_only_get(db):
    response = Client().post("/embed/", {"origin": PARENT})
    assert response.status_code == 405
    assert response.json()["detail"]
