"""Per-account request rate: a fixed window in the cache, with X-RateLimit-* headers."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """'300/min' -> (300, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


class AccountRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        account = request.user
        if account is None:
            return True  # unauthenticated requests are refused before any work is done
        limit, period = rate_parse(settings.BGCUT_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        key = f"bgcut:rate:{account.pk}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            used = 1
        reset = (window + 1) * period
        self._wait = reset - now
        request.rate_limit = (limit, max(0, limit - used), int(reset))
        return used <= limit

    def wait(self):
        return self._wait
