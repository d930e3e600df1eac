"""One error type for the v3 API, and the one place that renders every error as `{"detail"}`."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A failure the caller can act on: an HTTP status and a sentence saying what to do."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def _drf_detail(exc: drf.APIException) -> str:
    """Flatten DRF's nested validation messages into one sentence."""
    detail = exc.detail
    if isinstance(detail, dict):
        parts = []
        for field, messages in detail.items():
            message = messages[0] if isinstance(messages, list) and messages else messages
            parts.append(str(message) if field == "non_field_errors" else f"{field}: {message}")
        return " ".join(parts)
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    return str(detail)


_DRF_MESSAGES = {
    drf.NotAuthenticated: (
        "Authentication required: send 'Authorization: Token YOUR_API_KEY' or "
        "'Authorization: AccessToken TOKEN'."
    ),
    drf.UnsupportedMediaType: (
        "Unsupported Content-Type: send application/json (or multipart/form-data for uploads)."
    ),
}


def api_exception_handler(exc, context):
    """DRF's exception handler: every error, Django's included, becomes `{"detail"}`."""
    if isinstance(exc, ApiError):
        return Response({"detail": exc.detail}, status=exc.status, headers=exc.headers)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": "You do not have permission to do this."}, status=403)
    if isinstance(exc, drf.ParseError):
        return Response(
            {"detail": "The request body could not be parsed: send valid JSON (or multipart/form-data for uploads)."},
            status=400,
        )
    if isinstance(exc, drf.APIException):
        detail = _DRF_MESSAGES.get(type(exc)) or _drf_detail(exc)
        headers = {}
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
            detail = f"Rate limit exceeded: retry after {headers['Retry-After']} seconds."
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Token realm="v3"'
        return Response({"detail": detail}, status=exc.status_code, headers=headers)
    # Anything else is our bug: log it, and answer the spec's 500 without a stack trace.
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response({"detail": "Internal server error: retry with exponential backoff."}, status=500)


def json_404(request, exception=None):
    """Unknown URLs under /v3/ answer JSON; the rest of the site keeps Django's page."""
    if request.path.startswith("/v3/"):
        return JsonResponse({"detail": "Not found: no such endpoint."}, status=404)
    return defaults.page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/v3/"):
        return JsonResponse({"detail": "Internal server error: retry with exponential backoff."}, status=500)
    return defaults.server_error(request)
