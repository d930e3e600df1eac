"""`/mint-token/`: for signed-in users of the site's own editor only; mints with the server's key.

The embedded editor never comes here: its tokens come from the page that embeds it, minted with
that customer's own API key (see static/editor/embed.js), so the server's key serves no embed.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from tokens import client, services

logger = logging.getLogger(__name__)

KEY_REJECTED = "The server's API key was rejected by the v3 API; ask the operator to set BGCUT_API_KEY."


class _CsrfCheck(CsrfViewMiddleware):
    # As DRF does: run Django's own CSRF check, but get the reason back instead of an HTML page.
    def _reject(self, request, reason):
        return reason


def _csrf_failure(request: HttpRequest) -> str | None:
    check = _CsrfCheck(lambda req: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def _error(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _upstream_failure(exc: client.UpstreamError) -> JsonResponse:
    # Log the kind of failure for the operator; never the key, never a token.
    logger.warning("Minting failed upstream: %s: %s", type(exc).__name__, exc)
    if isinstance(exc, client.ApiKeyRejected):
        return _error(502, KEY_REJECTED)
    if isinstance(exc, client.UpstreamRateLimited):
        return _error(
            exc.status,
            f"The v3 API is busy or rate limiting this site: retry after {exc.retry_after} seconds.",
            Retry_After=str(exc.retry_after),
        )
    if isinstance(exc, client.UpstreamTimeout):
        return _error(504, "The v3 API did not answer in time; try again in a moment.")
    if isinstance(exc, client.UpstreamUnreachable):
        return _error(502, "The v3 API cannot be reached right now; try again in a moment.")
    return _error(502, "The v3 API could not mint a token; try again, or ask the operator to check the logs.")


@csrf_exempt  # CSRF is checked below, so that its failure is a JSON 403 rather than an HTML page.
@never_cache
def mint_token(request: HttpRequest) -> JsonResponse:
    """POST -> {"access_token", "expires_at"}: a short-lived token scoped to what the editor calls."""
    if request.method != "POST":
        return _error(405, "Use POST to mint a token.", Allow="POST")
    if not request.user.is_authenticated:
        return _error(401, "Sign in first: tokens are minted only for signed-in users of this site's editor.")
    if reason := _csrf_failure(request):
        return _error(403, f"CSRF check failed ({reason}): reload the page and try again.")
    rate = services.rate_parse(settings.BGCUT_MINT_RATE)
    if wait := services.rate_check(scope="mint", subject=f"user:{request.user.pk}", rate=rate):
        return _error(429, f"Too many tokens minted: retry after {wait} seconds.", Retry_After=str(wait))
    try:
        minted = services.editor_token_mint()
    except client.UpstreamError as exc:
        return _upstream_failure(exc)
    expires_at = minted.expires_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return JsonResponse({"access_token": minted.access_token, "expires_at": expires_at})
