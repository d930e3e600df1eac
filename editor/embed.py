"""Which parent pages may frame the embedded editor: origin parsing and the operator's allow-list.

The embed page holds no credential of its own. It asks the parent page for access tokens by
postMessage, and the parent's server mints them with the customer's own API key, so the origin
checked here decides only who may frame the editor and whom it will talk to.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

EXAMPLE = "https://shop.example"


class OriginError(Exception):
    """An origin the embed page cannot serve; the message says why and what to send instead."""


class OriginInvalid(OriginError):
    """Not a bare `scheme://host[:port]` origin."""


class OriginNotAllowed(OriginError):
    """A well-formed origin that is not in BGCUT_EMBED_ALLOWED_ORIGINS."""


def origin_normalise(*, origin: object) -> str:
    """'HTTPS://Shop.example:443' -> 'https://shop.example'; anything but a bare origin is OriginInvalid."""
    if not isinstance(origin, str) or not origin.strip():
        raise OriginInvalid(f"Give the parent page's origin, e.g. /embed/?origin={EXAMPLE}.")
    text = origin.strip()
    try:
        # urlsplit raises on a broken IPv6 literal ('https://[::1'), .port on a port out of range.
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OriginInvalid(f"{text[:200]!r} is not an origin: send scheme://host[:port], e.g. {EXAMPLE}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginInvalid(f"{text[:200]!r} is not an origin: send scheme://host[:port], e.g. {EXAMPLE}.")
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


def origin_check(*, origin: object) -> str:
    """The normalised origin when it is in BGCUT_EMBED_ALLOWED_ORIGINS; OriginInvalid/NotAllowed otherwise."""
    normalised = origin_normalise(origin=origin)
    if normalised not in allowed_origins():
        raise OriginNotAllowed(
            f"{normalised} may not embed the editor: the operator must add it to BGCUT_EMBED_ALLOWED_ORIGINS."
        )
    return normalised
