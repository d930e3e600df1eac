"""Minting editor tokens and limiting how often: plain functions, keyword-only arguments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from lib.ratelimit import Rate, rate_hit, rate_parse  # noqa: F401  (re-exported for views)
from tokens import client, clock

# Exactly what the editor calls, nothing more: a leaked token cannot list, delete or mint.
EDITOR_TOKEN_PATHS = (
    "/v3/file-ops/upload/",
    "/v3/files/*",
    "/v3/file-ops/info/",
    "/v3/file-ops/get-public-url/",
    "/v3/tools/ai/remove-bg/process/",
    "/v3/tools/ai/ai-cut/segment/",
    "/v3/tools/ai/ai-cut/prepare/",
    "/v3/tools/ai/ai-cut/preview/",
)


@dataclass(frozen=True)
class MintedToken:
    access_token: str
    expires_at: datetime


def rate_check(*, scope: str, subject: str, rate: Rate) -> int | None:
    """Count one request; the seconds to wait when over the limit, else None."""
    decision = rate_hit(scope=scope, subject=subject, rate=rate, now=clock.now().timestamp())
    return None if decision.allowed else decision.retry_after


def editor_token_mint() -> MintedToken:
    """A fresh token for the editor, minted with the server's key; never stored anywhere."""
    ttl = settings.BGCUT_MINT_TTL
    # Take the time before asking, so the expiry we report is never later than the real one.
    issued = clock.now()
    token = client.access_token_mint(
        api_key=settings.BGCUT_API_KEY, paths=list(EDITOR_TOKEN_PATHS), expires_in=ttl
    )
    return MintedToken(access_token=token, expires_at=issued + timedelta(seconds=ttl))
