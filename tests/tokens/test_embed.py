"""Embed tickets (60 s, single use, bound to an allowed origin) and embed sessions (signed, 1 h)."""
from datetime import timedelta

import pytest
from django.core import signing

from tokens import embed

from tests.tokens.fakes import TOKENS_NOW as NOW



@pytest.fixture(autouse=True)
def allowed(settings):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = ["https://shop.example", "http://localhost:8123"]
    settings.BGCUT_EMBED_TICKET_TTL = 60
    settings.BGCUT_EMBED_SESSION_TTL = 3600
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
])
def test_it_refuses_what_is_not_a_bare_origin(raw):
    with pytest.raises(embed.OriginInvalid):
        embed.origin_normalise(origin=raw)


def test_it_refuses_an_origin_that_is_not_allowed():
    with pytest.raises(embed.OriginNotAllowed):
        embed.origin_check(origin="https://evil.example")
    with pytest.raises(embed.OriginNotAllowed):
        embed.origin_check(origin="http://shop.example")  # scheme is part of the origin


def test_it_redeems_a_ticket_once_for_its_origin(tokens_clock):
    ticket = embed.embed_ticket_issue(origin="https://shop.example")
    assert embed.embed_ticket_redeem(ticket=ticket) == "https://shop.example"
    with pytest.raises(embed.TicketReused):
        embed.embed_ticket_redeem(ticket=ticket)


def test_two_tickets_for_one_origin_are_independent(tokens_clock):
    first = embed.embed_ticket_issue(origin="https://shop.example")
    second = embed.embed_ticket_issue(origin="https://shop.example")
    assert first != second
    embed.embed_ticket_redeem(ticket=first)
    assert embed.embed_ticket_redeem(ticket=second) == "https://shop.example"


def test_a_ticket_expires_after_its_ttl(tokens_clock):
    ticket = embed.embed_ticket_issue(origin="https://shop.example")
    tokens_clock["now"] = NOW + timedelta(seconds=59)
    embed.embed_ticket_redeem(ticket=ticket)
    late = embed.embed_ticket_issue(origin="https://shop.example")
    tokens_clock["now"] += timedelta(seconds=60)
    with pytest.raises(embed.TicketExpired):
        embed.embed_ticket_redeem(ticket=late)


def test_a_tampered_ticket_is_refused(tokens_clock):
    ticket = embed.embed_ticket_issue(origin="https://shop.example")
    payload = signing.loads(ticket, salt=embed.TICKET_SALT)
    forged_payload = signing.dumps({**payload, "o": "https://evil.example"}, salt="wrong-salt")
    for forged in (ticket[:-3] + "abc", forged_payload, "", "not-a-ticket", ticket.replace(":", "", 1)):
        with pytest.raises(embed.TicketInvalid):
            embed.embed_ticket_redeem(ticket=forged)


def test_a_session_token_cannot_be_used_as_a_ticket(tokens_clock):
    _, session_token = embed.embed_session_issue(origin="https://shop.example")
    with pytest.raises(embed.TicketInvalid):
        embed.embed_ticket_redeem(ticket=session_token)


def test_a_ticket_stops_working_when_its_origin_is_removed(tokens_clock, settings):
    ticket = embed.embed_ticket_issue(origin="https://shop.example")
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = ["http://localhost:8123"]
    with pytest.raises(embed.OriginNotAllowed):
        embed.embed_ticket_redeem(ticket=ticket)


def test_an_embed_session_lasts_its_ttl(tokens_clock):
    session, token = embed.embed_session_issue(origin="https://shop.example")
    assert session.expires_at == NOW + timedelta(hours=1)
    tokens_clock["now"] = NOW + timedelta(seconds=3599)
    assert embed.embed_session_verify(token=token) == session
    tokens_clock["now"] = NOW + timedelta(seconds=3600)
    with pytest.raises(embed.EmbedSessionInvalid):
        embed.embed_session_verify(token=token)


def test_a_ticket_cannot_be_used_as_an_embed_session(tokens_clock):
    ticket = embed.embed_ticket_issue(origin="https://shop.example")
    with pytest.raises(embed.EmbedSessionInvalid):
        embed.embed_session_verify(token=ticket)


def test_an_embed_session_ends_when_its_origin_is_removed(tokens_clock, settings):
    _, token = embed.embed_session_issue(origin="https://shop.example")
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = []
    with pytest.raises(embed.EmbedSessionInvalid):
        embed.embed_session_verify(token=token)


def test_it_skips_a_malformed_allowed_origin_instead_of_widening(settings):
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = ["*", "https://shop.example/path", "https://ok.example"]
    assert embed.allowed_origins() == ["https://ok.example"]
