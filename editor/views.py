"""The editor page, the embed page, the staff ops page and sign-in throttling: thin views over services."""
from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt

from editor import embed, ops, signin
from tokens import client

def _editor_context(*, embed_origin: str | None = None) -> dict:
    """The template contract shared with the front end (see templates/editor/editor.html)."""
    return {
        "api_base": settings.BGCUT_PUBLIC_API_BASE,
        # The embedded editor never mints: its tokens come from the parent page (static/editor/embed.js).
        "mint_url": "" if embed_origin else reverse("mint-token"),
        "embed": embed_origin is not None,
        "embed_parent_origin": embed_origin,
        # Refused in the browser before any byte is sent: the same limit the upload endpoint applies.
        "max_upload_bytes": settings.BGCUT_MAX_UPLOAD_BYTES,
        "max_upload_mb": round(settings.BGCUT_MAX_UPLOAD_BYTES / 2**20),
        "render_cost": settings.BGCUT_CREDIT_COST_RENDER,
        # Signed out in another tab: sign in again in a new one, then carry on where the work is.
        "signin_url": reverse("login") + "?next=" + reverse("editor"),
    }


@login_required
def editor_page(request: HttpRequest) -> HttpResponse:
    return render(request, "editor/editor.html", _editor_context())


def _frame_ancestors(origins: list[str]) -> str:
    return "frame-ancestors " + (" ".join(origins) if origins else "'none'")


def _embed_refused(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    """A person in a frame reads a page; a script or a fuzzer (no text/html in Accept) gets {"detail"}."""
    if "text/html" in request.headers.get("Accept", ""):
        response = render(request, "embed/refused.html", {"reason": reason, "embed": True}, status=status)
    else:
        response = JsonResponse({"detail": reason}, status=status)
    # An allowed parent that got its URL wrong still sees why; nobody else may frame even this.
    response["Content-Security-Policy"] = _frame_ancestors(embed.allowed_origins())
    return response


@xframe_options_exempt  # framing is governed by the CSP frame-ancestors set below instead
@never_cache
def embed_page(request: HttpRequest) -> HttpResponse:
    """`/embed/?origin=https://shop.example`: the editor, framed by that allowed origin only."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": "Use GET to open the embed page."}, status=405, headers={"Allow": "GET, HEAD"})
    try:
        origin = embed.origin_check(origin=request.GET.get("origin", ""))
    except embed.OriginInvalid as exc:
        return _embed_refused(request, 400, str(exc))
    except embed.OriginNotAllowed as exc:
        return _embed_refused(request, 403, str(exc))
    response = render(request, "editor/editor.html", _editor_context(embed_origin=origin))
    response["Content-Security-Policy"] = _frame_ancestors([origin])
    return response


def signin_throttled(view):
    """Wrap a sign-in view: a POST while the username or the address is locked out is a 429 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            lockout = signin.signin_lockout(
                username=request.POST.get("username", ""), address=signin.client_address(request)
            )
            if lockout:
                context = {"wait": signin.wait_words(lockout.retry_after), "until": lockout.until,
                           "retry_url": request.get_full_path()}
                response = render(request, "registration/locked.html", context, status=429)
                response["Retry-After"] = str(lockout.retry_after)
                return response
        return view(request, *args, **kwargs)

    return wrapper


def _page_number(raw: str) -> int:
    try:
        return max(1, min(int(raw), 1_000_000))
    except (TypeError, ValueError):
        return 1


@login_required
def ops_jobs(request: HttpRequest) -> HttpResponse:
    """The v3 job log, for staff: filters and page come from the query (so a view can be shared) and go
    to the engine as they are; it validates them, and a refusal is shown with the form to fix it."""
    if not request.user.is_staff:
        return render(request, "ops/forbidden.html", status=403)
    filters = ops.filters_from(request.GET)
    page_number = _page_number(request.GET.get("page", "1"))
    context = {"tools": ops.TOOLS, "statuses": ops.STATUSES, "within_choices": ops.WITHIN,
               "page_sizes": ops.PAGE_SIZES, "filters": filters,
               "filtered": any(v for k, v in filters.items() if k != "page_size"),
               "page": None, "rows": [], "accounts": [], "error": ""}
    try:
        accounts = client.ops_accounts_list(api_key=settings.BGCUT_API_KEY)
        # A shared link may name an account the list lacks (deleted since): keep it selectable.
        context["accounts"] = sorted({*accounts, filters["account"]} - {""})
        page = client.ops_jobs_list(api_key=settings.BGCUT_API_KEY, query={**filters, "page": page_number})
    except client.UpstreamError as exc:
        context["error"] = ops.failure_message(exc)
        refused = isinstance(exc, client.UpstreamFailed) and exc.status == 400
        return render(request, "ops/jobs.html", context, status=400 if refused else 502)
    context["page"] = page
    context["rows"] = ops.job_rows(page=page, api_base=settings.BGCUT_API_BASE,
                                    public_base=settings.BGCUT_PUBLIC_API_BASE)
    return render(request, "ops/jobs.html", context)
