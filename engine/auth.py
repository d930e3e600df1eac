"""Authentication for /v3/: `Token <API key>` or `AccessToken <token>`, and the token's scope."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rest_framework import authentication, permissions

from engine import access_tokens, keys
from engine.errors import ApiError
from engine.models import Account, ApiKey

_SCHEMES = ("Token", "AccessToken")
# HTTP separates the scheme from its value with spaces or tabs; Unicode spaces are not separators.
_SEPARATOR = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Credential:
    """What authenticated a request: an API key, or an access token with its claims."""

    api_key: ApiKey | None = None
    claims: access_tokens.TokenClaims | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key is not None


def _header_value(request, scheme: str) -> str | None:
    """The credential after `scheme`, None when another scheme is used; a 401 if malformed."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    parts = [part for part in _SEPARATOR.split(header) if part]
    if not parts:
        raise ApiError(401, "Empty Authorization header: send 'Token YOUR_API_KEY' or 'AccessToken TOKEN'.")
    if parts[0] not in _SCHEMES:
        raise ApiError(
            401,
            f"Unsupported Authorization scheme {parts[0][:20]!r}: use 'Token YOUR_API_KEY' "
            "or 'AccessToken TOKEN'.",
        )
    if parts[0] != scheme:
        return None
    if len(parts) != 2:
        raise ApiError(401, f"Malformed Authorization header: expected '{scheme} <value>' with no spaces in the value.")
    return parts[1]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = _header_value(request, "Token")
        if raw is None:
            return None
        key = keys.api_key_find(raw_key=raw)
        if key is None:
            raise ApiError(401, "Invalid API key: it is unknown or was revoked. Check the key in your dashboard.")
        return key.account, Credential(api_key=key)

    def authenticate_header(self, request):
        return 'Token realm="v3"'


class AccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = _header_value(request, "AccessToken")
        if raw is None:
            return None
        claims = access_tokens.token_verify(raw)
        account = Account.objects.filter(pk=claims.account_id).first()
        if account is None:
            raise ApiError(401, "Invalid access token: its account no longer exists.")
        return account, Credential(claims=claims)


class IsAccountWithinScope(permissions.BasePermission):
    """Any API key; an access token only on routed paths its globs match."""

    def has_permission(self, request, view):
        credential = request.auth
        if not isinstance(credential, Credential):
            return False  # DRF turns this into a 401 for unauthenticated requests.
        # path_info is what the URL resolver matched: the scope follows the view that runs, whatever
        # SCRIPT_NAME a server was told (request.path would include it).
        routed = request.path_info
        if credential.claims is not None and not credential.claims.allows(routed):
            raise ApiError(
                403,
                f"This access token is not allowed to call {routed}: mint one whose paths include it.",
            )
        return True


class ApiKeyOnly(IsAccountWithinScope):
    """Endpoints that need the secret key itself (minting tokens, operator views)."""

    message_for_tokens = "Only an API key may call this endpoint: call it from your server with 'Token YOUR_API_KEY'."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.auth.is_api_key:
            raise ApiError(403, self.message_for_tokens)
        return True
