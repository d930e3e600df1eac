"""The site's one rate limiter: one parser for 'N/period' settings and one fixed-window counter.

Counters live in Django's default cache: per process with the default local-memory cache, shared
between processes and nodes when CACHE_URL points at Redis. `/v3/`, `/mint-token/`
and sign-in all count here, each under its own scope.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

_PERIODS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: int


@dataclass(frozen=True)
class RateDecision:
    """One counted request: whether it may go on, and what to tell the caller about the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix seconds when the window ends
    retry_after: int  # seconds until the window ends, at least 1


@functools.lru_cache(maxsize=32)
def rate_parse(text: str) -> Rate:
    """'300/min' -> Rate(300, 60). A malformed rate is a ValueError, never 'unlimited'."""
    count, _, unit = str(text).strip().partition("/")
    try:
        limit, period = int(count), _PERIODS[unit.strip().lower()]
    except (ValueError, KeyError) as exc:
        raise ValueError(
            f"A rate must look like '30/min' (periods: s, min, hour, day), not {text!r}."
        ) from exc
    if limit < 1:
        raise ValueError(f"A rate must allow at least one request per period, not {text!r}.")
    return Rate(limit=limit, period_s=period)


def _key(scope: str, subject: str, window: int) -> str:
    return f"bgcut:rate:{scope}:{subject}:{window}"


def rate_peek(*, scope: str, subject: str, rate: Rate, now: float) -> RateDecision:
    """Whether one more request of `subject` would be allowed now, without counting it.

    For limits on failures (sign-in): look before the attempt, count only when it fails.
    """
    from django.core.cache import cache

    window = int(now // rate.period_s)
    used = int(cache.get(_key(scope, subject, window)) or 0)
    reset_at = (window + 1) * rate.period_s
    return RateDecision(
        allowed=used < rate.limit,
        limit=rate.limit,
        remaining=max(0, rate.limit - used),
        reset_at=reset_at,
        retry_after=max(1, int(reset_at - now + 0.999)),
    )


def rate_hit(*, scope: str, subject: str, rate: Rate, now: float) -> RateDecision:
    """Count one request of `subject` in the current window of `rate` (`now` in Unix seconds)."""
    from django.core.cache import cache

    window = int(now // rate.period_s)
    key = _key(scope, subject, window)
    cache.add(key, 0, timeout=rate.period_s + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=rate.period_s + 1)
        used = 1
    reset_at = (window + 1) * rate.period_s
    return RateDecision(
        allowed=used <= rate.limit,
        limit=rate.limit,
        remaining=max(0, rate.limit - used),
        reset_at=reset_at,
        retry_after=max(1, int(reset_at - now + 0.999)),
    )
