"""Per-account request rate for /v3/, with X-RateLimit-* headers (counted by lib.ratelimit)."""
from __future__ import annotations

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from lib.ratelimit import rate_hit, rate_parse


class AccountRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        account = request.user
        if account is None:
            return True  # unauthenticated requests are refused before any work is done
        decision = rate_hit(scope="v3", subject=str(account.pk), rate=rate_parse(settings.BGCUT_RATE_LIMIT),
                            now=time.time())
        self._wait = decision.retry_after
        request.rate_limit = (decision.limit, decision.remaining, decision.reset_at)
        return decision.allowed

    def wait(self):
        return self._wait
