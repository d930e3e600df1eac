"""One error type for the v3 API, and the one place that renders every error as `{"detail"}`."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost, PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class BodyRefused(drf.ParseError):
    """A body our parsers refuse, with a sentence saying why (DRF's own parse errors get a general one)."""


class ApiError(Exception):
    """A failure the caller can act on: an HTTP status and a sentence saying what to do."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def _first_error(detail, path: str) -> tuple[str, str] | None:
    """The first message in DRF's nested validation detail, with the dotted path of its field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                child = path
            elif isinstance(key, int):  # a ListField's item
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            if found := _first_error(value, child):
                return found
        return None
    if isinstance(detail, list):
        if detail and all(isinstance(item, str) for item in detail):
            return path, detail[0]  # a field's own messages
        for index, item in enumerate(detail):  # a nested list's items ({} for the valid ones)
            if found := _first_error(item, f"{path}[{index}]"):
                return found
        return None
    return path, str(detail)


def _drf_detail(exc: drf.APIException) -> str:
    """DRF's nested messages as one sentence that names the field: `output_variants[2].format must be ...`.

    engine.serializers words refusals to follow the field's name ("must be ..."); a message that is a
    sentence of its own (DRF's, or one about several fields) comes after a colon, or alone.
    """
    found = _first_error(exc.detail, "")
    if found is None:
        return "The request is not valid."
    path, message = found
    if not path:
        return message
    return f"{path}: {message}" if message[:1].isupper() else f"{path} {message}"


_DRF_MESSAGES = {
    drf.NotAuthenticated: (
        "Authentication required: send 'Authorization: Token YOUR_API_KEY' or "
        "'Authorization: AccessToken TOKEN'."
    ),
    drf.UnsupportedMediaType: (
        "Unsupported Content-Type: send application/json (or multipart/form-data for uploads)."
    ),
}


def _request_refused(exc: SuspiciousOperation) -> tuple[int, str]:
    """Django's own refusals of a request (its size and count limits, a bad Host) as status and sentence."""
    if isinstance(exc, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return 413, (f"The request body is too large: at most {limit_mb:g} MB besides uploaded files "
                     "(send images as multipart/form-data files).")
    if isinstance(exc, TooManyFilesSent):
        return 400, f"Too many files: send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per request."
    if isinstance(exc, TooManyFieldsSent):
        return 400, f"Too many fields: send at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields per request."
    if isinstance(exc, DisallowedHost):
        return 400, "Unknown Host header: call this server by one of the host names it serves."
    return 400, "Bad request: the request is malformed or not allowed."


def api_exception_handler(exc, context):
    """DRF's exception handler: every error, Django's included, becomes `{"detail"}`."""
    if isinstance(exc, ApiError):
        return Response({"detail": exc.detail}, status=exc.status, headers=exc.headers)
    if isinstance(exc, SuspiciousOperation):
        status, detail = _request_refused(exc)
        return Response({"detail": detail}, status=status)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": "You do not have permission to do this."}, status=403)
    if isinstance(exc, drf.ParseError):
        # Our parsers say exactly what is wrong; DRF's own messages are replaced by a general one.
        detail = exc.detail if isinstance(exc, BodyRefused) else (
            "The request body could not be parsed: send valid JSON (or multipart/form-data for uploads).")
        return Response({"detail": detail}, status=400)
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


def _is_v3(request) -> bool:
    return request.path_info == "/v3" or request.path_info.startswith("/v3/")


def json_400(request, exception=None):
    """Django's 400s (a bad Host, its request limits outside a view) answer JSON under /v3/."""
    if _is_v3(request):
        status, detail = _request_refused(exception) if isinstance(exception, SuspiciousOperation) else (
            400, "Bad request: the request is malformed or not allowed.")
        return JsonResponse({"detail": detail}, status=status)
    return defaults.bad_request(request, exception)


def json_403(request, exception=None):
    if _is_v3(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def json_404(request, exception=None):
    """Unknown URLs under /v3/ answer JSON; the rest of the site keeps Django's page."""
    if _is_v3(request):
        return JsonResponse({"detail": "Not found: no such endpoint."}, status=404)
    return defaults.page_not_found(request, exception)


def json_500(request):
    if _is_v3(request):
        return JsonResponse({"detail": "Internal server error: retry with exponential backoff."}, status=500)
    return defaults.server_error(request)
