"""Access tokens: signed, scoped, short-lived credentials minted from an API key."""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.core import signing

from engine import clock
from engine.errors import ApiError
from engine.models import ApiKey

_SALT = "bgcut.v3.access-token"
MAX_EXPIRES_IN = 600
DEFAULT_EXPIRES_IN = 60
MAX_PATHS = 32


@dataclass(frozen=True)
class TokenClaims:
    account_id: int
    api_key_id: int
    paths: tuple[str, ...]
    expires_at: float  # Unix seconds

    def allows(self, request_path: str) -> bool:
        return any(fnmatchcase(request_path, pattern) for pattern in self.paths)


@dataclass(frozen=True)
class TokenRequest:
    """A validated mint request (engine.serializers.AccessTokenSerializer)."""

    paths: tuple[str, ...]
    expires_in: int


def token_mint(*, api_key: ApiKey, paths: tuple[str, ...], expires_in: int) -> tuple[str, float]:
    """Return (token, expires_at). Everything is inside the signature, so no edit survives."""
    expires_at = clock.now().timestamp() + expires_in
    payload = {"a": api_key.account_id, "k": api_key.pk, "p": list(paths), "e": round(expires_at, 3)}
    return signing.dumps(payload, salt=_SALT, compress=False), expires_at


def token_verify(token: str) -> TokenClaims:
    """The claims of a valid, unexpired token whose key is still active; else a 401."""
    try:
        payload = signing.loads(token, salt=_SALT)
        claims = TokenClaims(
            account_id=int(payload["a"]),
            api_key_id=int(payload["k"]),
            paths=tuple(str(p) for p in payload["p"]),
            expires_at=float(payload["e"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ApiError(401, "Invalid access token: it is malformed or was altered. Mint a new one.")
    if clock.now().timestamp() >= claims.expires_at:
        raise ApiError(401, "Access token expired: mint a new one (tokens live at most 10 minutes).")
    if not ApiKey.objects.filter(pk=claims.api_key_id, revoked_at__isnull=True).exists():
        raise ApiError(401, "Access token revoked: the API key that minted it was revoked.")
    return claims
