"""The editor page, the embed page and its tickets, and the staff ops page: thin views over services."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from editor import ops
from tokens import client, embed, services

JOB_STATUSES = ("ok", "failed", "running")


def _editor_context(*, embed_origin: str | None = None, embed_token: str = "") -> dict:
    """The template contract shared with the front end (see templates/editor/editor.html)."""
    return {
        "api_base": settings.BGCUT_PUBLIC_API_BASE,
        "mint_url": reverse("mint-token"),
        "embed": embed_origin is not None,
        "embed_parent_origin": embed_origin,
        # Sent back as the X-Embed-Session header; "" outside embed mode.
        "embed_session_token": embed_token,
        "embed_session_header": embed.SESSION_HEADER,
    }


def _error(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@login_required
def editor_page(request: HttpRequest) -> HttpResponse:
    return render(request, "editor/editor.html", _editor_context())


def _frame_ancestors(origins: list[str]) -> str:
    return "frame-ancestors " + (" ".join(origins) if origins else "'none'")


def _embed_session(request: HttpRequest) -> tuple[embed.EmbedSession, str]:
    """Redeem the ticket in the URL, else fall back to a same-site session already started."""
    ticket = request.GET.get("ticket", "")
    stored = request.session.get(embed.SESSION_KEY, "")
    try:
        if not ticket:
            raise embed.TicketInvalid("Open this page through an embed ticket (see the README, 'Embedding').")
        origin = embed.embed_ticket_redeem(ticket=ticket)
    except embed.EmbedError:
        if stored:
            try:
                return embed.embed_session_verify(token=stored), stored
            except embed.EmbedError:
                request.session.pop(embed.SESSION_KEY, None)
        raise
    session, token = embed.embed_session_issue(origin=origin)
    request.session[embed.SESSION_KEY] = token
    return session, token


@xframe_options_exempt  # framing is governed by the CSP frame-ancestors set below instead
@never_cache
def embed_page(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse("Use GET.", status=405, headers={"Allow": "GET, HEAD"})
    try:
        session, token = _embed_session(request)
    except embed.EmbedError as exc:
        response = render(request, "embed/refused.html", {"reason": str(exc), "embed": True}, status=403)
        response["Content-Security-Policy"] = _frame_ancestors(embed.allowed_origins())
        return response
    response = render(request, "editor/editor.html",
                      _editor_context(embed_origin=session.origin, embed_token=token))
    response["Content-Security-Policy"] = _frame_ancestors([session.origin])
    return response


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@csrf_exempt  # called server-to-server with an API key, never with cookies
@never_cache
def embed_ticket(request: HttpRequest) -> JsonResponse:
    """POST {"origin"} with `Authorization: Token KEY` -> {"ticket", "embed_url", "expires_in"}."""
    if request.method != "POST":
        return _error(405, "Use POST to request an embed ticket.", Allow="POST")
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    api_key = api_key.strip()
    if scheme.lower() != "token" or not api_key:
        return _error(401, "Send your API key as 'Authorization: Token YOUR_API_KEY'.",
                      WWW_Authenticate="Token")
    rate = services.rate_parse(settings.BGCUT_MINT_RATE)
    if wait := services.rate_check(scope="embed-ticket", subject=_client_ip(request), rate=rate):
        return _error(429, f"Too many embed tickets requested: retry after {wait} seconds.", Retry_After=str(wait))
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, 'Send JSON like {"origin": "https://shop.example"}.')
    try:
        origin = embed.origin_check(origin=body.get("origin", "") if isinstance(body, dict) else "")
    except embed.OriginInvalid as exc:
        return _error(400, str(exc))
    except embed.OriginNotAllowed as exc:
        return _error(403, str(exc))
    try:
        embed.api_key_verify(api_key=api_key)
    except client.ApiKeyRejected:
        return _error(401, "The v3 API rejected this API key.", WWW_Authenticate="Token")
    except client.UpstreamRateLimited as exc:
        return _error(exc.status, f"The v3 API is busy: retry after {exc.retry_after} seconds.",
                      Retry_After=str(exc.retry_after))
    except client.UpstreamTimeout:
        return _error(504, "The v3 API did not answer in time; try again.")
    except client.UpstreamError:
        return _error(502, "The v3 API could not verify the key right now; try again.")
    ticket = embed.embed_ticket_issue(origin=origin)
    embed_url = request.build_absolute_uri(reverse("embed") + "?" + urlencode({"ticket": ticket}))
    return JsonResponse({"ticket": ticket, "embed_url": embed_url,
                         "expires_in": settings.BGCUT_EMBED_TICKET_TTL})


def _page_number(raw: str) -> int:
    try:
        return max(1, min(int(raw), 1_000_000))
    except (TypeError, ValueError):
        return 1


@login_required
def ops_jobs(request: HttpRequest) -> HttpResponse:
    """Recent jobs from the v3 job log, for staff; filters and page number come from the query."""
    if not request.user.is_staff:
        return render(request, "ops/forbidden.html", status=403)
    status = request.GET.get("status", "")
    status = status if status in JOB_STATUSES else ""
    account = request.GET.get("account", "").strip()[:200]
    page_number = _page_number(request.GET.get("page", "1"))
    context = {"statuses": JOB_STATUSES, "status": status, "account": account,
               "page": None, "rows": [], "accounts": [], "error": ""}
    try:
        page = client.ops_jobs_list(api_key=settings.BGCUT_API_KEY, status=status,
                                    account=account, page=page_number)
        context["accounts"] = client.ops_accounts_list(api_key=settings.BGCUT_API_KEY)
    except client.UpstreamError as exc:
        context["error"] = ops.failure_message(exc)
        return render(request, "ops/jobs.html", context, status=502)
    context["page"] = page
    context["rows"] = ops.job_rows(page=page, api_base=settings.BGCUT_API_BASE,
                                    public_base=settings.BGCUT_PUBLIC_API_BASE)
    if account and account not in context["accounts"]:
        context["accounts"] = sorted([*context["accounts"], account])
    return render(request, "ops/jobs.html", context)
