"""The API docs page in a real browser: Redoc and the schema come from this server alone (no CDN, no web
fonts), so the page works on a host without internet access."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_the_api_docs_render_with_nothing_loaded_from_another_host(page, server):
    requested: list[str] = []
    refused: dict[str, str] = {}
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: refused.setdefault(request.url, request.failure or ""))
    page.goto(f"{server.base}/api/docs/")
    page.get_by_role("heading", name=re.compile("BackgroundCut API v3")).first.wait_for(timeout=30_000)
    page.get_by_text("/v3/tools/ai/ai-cut/segment/").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    # The only request to another host, Redoc's own logo, is refused by the page's policy before it leaves the
    # browser (here, without internet access, it would fail anyway, but differently).
    elsewhere = {url: refused.get(url) for url in requested if not url.startswith((server.base, "data:", "blob:"))}
    assert all(reason == "csp" for reason in elsewhere.values()), elsewhere
