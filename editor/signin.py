"""Sign-in throttling: failed sign-ins are counted per username and per client address.

Both the site's sign-in form and the admin's count here (Django's `user_login_failed` signal),
in lib.ratelimit's store. While either count is at its limit, the next attempt is refused before
the password is checked, so a guesser learns nothing more until the window ends.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest

from lib.ratelimit import rate_hit, rate_parse, rate_peek
from tokens import clock

USER_SCOPE = "signin-user"
ADDRESS_SCOPE = "signin-address"


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds until sign-in may be tried again
    until: datetime


def wait_words(seconds: int) -> str:
    """'12 minutes', '1 minute', '3 hours': how long a person waits, rounded up."""
    minutes = math.ceil(seconds / 60)
    if minutes <= 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(minutes / 60)} hours"


def client_address(request: HttpRequest | None) -> str:
    """The peer's address (behind a reverse proxy: the proxy's, see the README)."""
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "") or "unknown"


def _username_subject(username: object) -> str:
    # Case- and space-insensitive, and hashed: any text a form sends makes a short, safe cache key.
    text = str(username or "").strip().casefold()[:300]
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _counters(*, username: object, address: str):
    yield USER_SCOPE, _username_subject(username), rate_parse(settings.BGCUT_LOGIN_RATE)
    yield ADDRESS_SCOPE, address, rate_parse(settings.BGCUT_LOGIN_ADDRESS_RATE)


def signin_lockout(*, username: object, address: str) -> Lockout | None:
    """A Lockout when this username or this address has used up its failed sign-ins, else None."""
    now = clock.now()
    waits = [
        decision.retry_after
        for scope, subject, rate in _counters(username=username, address=address)
        if not (decision := rate_peek(scope=scope, subject=subject, rate=rate, now=now.timestamp())).allowed
    ]
    if not waits:
        return None
    wait = max(waits)
    return Lockout(retry_after=wait, until=now + timedelta(seconds=wait))


def signin_failure_record(*, username: object, address: str) -> None:
    """Count one failed sign-in against the username and the address."""
    now = clock.now().timestamp()
    for scope, subject, rate in _counters(username=username, address=address):
        rate_hit(scope=scope, subject=subject, rate=rate, now=now)


def on_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    """Receiver of django.contrib.auth's `user_login_failed`."""
    signin_failure_record(username=credentials.get("username", ""), address=client_address(request))
