"""Minting editor tokens and limiting how often: plain functions, keyword-only arguments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from tokens import client, clock

# Exactly what the editor calls, nothing more: a leaked token cannot list, delete or mint.
EDITOR_TOKEN_PATHS = (
    "/v3/file-ops/upload/",
    "/v3/files/*",
    "/v3/file-ops/info/",
    "/v3/file-ops/get-public-url/",
    "/v3/tools/ai/remove-bg/process/",
    "/v3/tools/ai/ai-cut/segment/",
)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
            "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class MintedToken:
    access_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: int


def rate_parse(*, text: str) -> Rate:
    """'30/min' -> Rate(30, 60); a malformed setting is an error at first use, never 'unlimited'."""
    count, _, unit = text.strip().partition("/")
    try:
        limit, period = int(count), _PERIODS[unit.strip().lower()]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"A rate must look like '30/min', not {text!r}.") from exc
    if limit < 1:
        raise ValueError(f"A rate must allow at least one request, not {text!r}.")
    return Rate(limit=limit, period_s=period)


def rate_check(*, scope: str, subject: str, rate: Rate) -> int | None:
    """Count one request in a fixed window; the seconds to wait when over the limit, else None."""
    epoch = int(clock.now().timestamp())
    window = epoch // rate.period_s
    key = f"bgcut:rate:{scope}:{subject}:{window}"
    cache.add(key, 0, timeout=rate.period_s + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=rate.period_s + 1)
        count = 1
    if count <= rate.limit:
        return None
    return max(1, (window + 1) * rate.period_s - epoch)


def editor_token_mint() -> MintedToken:
    """A fresh token for the editor, minted with the server's key; never stored anywhere."""
    ttl = settings.BGCUT_MINT_TTL
    # Take the time before asking, so the expiry we report is never later than the real one.
    issued = clock.now()
    token = client.access_token_mint(
        api_key=settings.BGCUT_API_KEY, paths=list(EDITOR_TOKEN_PATHS), expires_in=ttl
    )
    return MintedToken(access_token=token, expires_at=issued + timedelta(seconds=ttl))
