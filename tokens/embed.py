"""Embed tickets and embed sessions: who, besides a signed-in user, may have tokens minted.

A customer's backend trades its API key for a ticket (signed, 60 s, single use, bound to one parent
origin); opening `/embed/?ticket=...` redeems it for an embed session: a signed, 1 h credential the
embed page sends as a header, so it works without third-party cookies.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from tokens import client, clock

TICKET_SALT = "bgcut.embed.ticket"
SESSION_SALT = "bgcut.embed.session"
# The header the embed page sends to /mint-token/; a cross-site page cannot set it (no CORS there).
SESSION_HEADER = "X-Embed-Session"
# Where a same-site embed session also lives (the cookie may not stick inside a cross-site iframe).
SESSION_KEY = "bgcut_embed_session"


class EmbedError(Exception):
    """A ticket or embed session that cannot be used; the message says why."""


class OriginInvalid(EmbedError):
    """Not a bare `scheme://host[:port]` origin."""


class OriginNotAllowed(EmbedError):
    """A well-formed origin that is not in BGCUT_EMBED_ALLOWED_ORIGINS."""


class TicketInvalid(EmbedError):
    pass


class TicketExpired(EmbedError):
    pass


class TicketReused(EmbedError):
    pass


class EmbedSessionInvalid(EmbedError):
    pass


@dataclass(frozen=True)
class EmbedSession:
    origin: str
    session_id: str
    expires_at: datetime


def origin_normalise(*, origin: str) -> str:
    """'HTTPS://Shop.example:443' -> 'https://shop.example'; anything but a bare origin is refused."""
    if not isinstance(origin, str) or not origin.strip():
        raise OriginInvalid("Send the parent page's origin, e.g. {\"origin\": \"https://shop.example\"}.")
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginInvalid(f"{origin!r} is not an origin: send scheme://host[:port] only.")
    try:
        port = parts.port
    except ValueError as exc:
        raise OriginInvalid(f"{origin!r} has an invalid port.") from exc
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origins() -> list[str]:
    """BGCUT_EMBED_ALLOWED_ORIGINS, normalised (a malformed entry is skipped, never widened)."""
    result = []
    for entry in settings.BGCUT_EMBED_ALLOWED_ORIGINS:
        try:
            result.append(origin_normalise(origin=entry))
        except OriginInvalid:
            continue
    return result


def origin_check(*, origin: str) -> str:
    """The normalised origin when it is in BGCUT_EMBED_ALLOWED_ORIGINS; OriginInvalid/NotAllowed otherwise."""
    normalised = origin_normalise(origin=origin)
    if normalised not in allowed_origins():
        raise OriginNotAllowed(
            f"{normalised} may not embed the editor: the operator must add it to BGCUT_EMBED_ALLOWED_ORIGINS."
        )
    return normalised


def api_key_verify(*, api_key: str) -> None:
    """One cheap upstream call proves the key: mint a 1-second token that can do nothing useful."""
    client.access_token_mint(api_key=api_key, paths=["/v3/file-ops/info/"], expires_in=1)


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def embed_ticket_issue(*, origin: str) -> str:
    """A signed ticket for `origin` (already checked), valid BGCUT_EMBED_TICKET_TTL seconds, once."""
    expires = clock.now() + timedelta(seconds=settings.BGCUT_EMBED_TICKET_TTL)
    payload = {"o": origin, "n": secrets.token_urlsafe(16), "e": _timestamp(expires)}
    return signing.dumps(payload, salt=TICKET_SALT)


def embed_ticket_redeem(*, ticket: str) -> str:
    """The ticket's parent origin; TicketInvalid/TicketExpired/TicketReused/OriginNotAllowed otherwise."""
    try:
        payload = signing.loads(ticket, salt=TICKET_SALT)
        origin, nonce, expires = str(payload["o"]), str(payload["n"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise TicketInvalid("This embed ticket is not valid: ask the site that embeds the editor to reload.") from exc
    remaining = expires - _timestamp(clock.now())
    if remaining <= 0:
        raise TicketExpired("This embed ticket has expired: reload the page that embeds the editor.")
    # The operator may have removed the origin since the ticket was issued.
    origin = origin_check(origin=origin)
    # cache.add is atomic: of two concurrent redemptions, exactly one wins.
    if not cache.add(f"bgcut:embed-ticket:{nonce}", 1, timeout=remaining + 5):
        raise TicketReused("This embed ticket was already used: reload the page that embeds the editor.")
    return origin


def embed_session_issue(*, origin: str) -> tuple[EmbedSession, str]:
    """A new embed session for `origin` and its signed token (for the page, and for the header)."""
    expires = clock.now() + timedelta(seconds=settings.BGCUT_EMBED_SESSION_TTL)
    session = EmbedSession(origin=origin, session_id=secrets.token_urlsafe(12),
                           expires_at=datetime.fromtimestamp(_timestamp(expires), tz=timezone.utc))
    token = signing.dumps({"o": origin, "s": session.session_id, "e": _timestamp(expires)}, salt=SESSION_SALT)
    return session, token


def embed_session_verify(*, token: str) -> EmbedSession:
    """The embed session a token stands for; EmbedSessionInvalid when forged, expired or disallowed."""
    try:
        payload = signing.loads(token, salt=SESSION_SALT)
        origin, session_id, expires = str(payload["o"]), str(payload["s"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise EmbedSessionInvalid("This embed session is not valid: reload the page.") from exc
    if expires <= _timestamp(clock.now()):
        raise EmbedSessionInvalid("This embed session has expired: reload the page.")
    try:
        origin = origin_check(origin=origin)
    except EmbedError as exc:
        raise EmbedSessionInvalid("This site may no longer embed the editor.") from exc
    return EmbedSession(origin=origin, session_id=session_id,
                        expires_at=datetime.fromtimestamp(expires, tz=timezone.utc))
