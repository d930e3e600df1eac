"""Embedding in Chromium: the README's host page on a second origin, whose own backend mints the
editor's tokens with the customer's API key. The work lands in the customer's account."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser.conftest import ROOT, photo_jpeg

pytestmark = pytest.mark.browser

README_BGCUT = "https://bgcut.example"
# Collects every message the host page receives, in the top page only (the init script runs in frames too).
RECORD_MESSAGES = """if (window === window.top) {
  window.messages = [];
  window.addEventListener("message", (e) => window.messages.push({ origin: e.origin, data: e.data }));
}"""


def readme_host_page() -> str:
    """The minimal host page exactly as the README shows it."""
    section = (ROOT / "README.md").read_text().split("## Embedding the editor", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```html\n(.*?)```", section, re.S).group(1)
    return "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())


def host_page(server, name: str, html: str) -> str:
    (server.parent_dir / name).write_text(html.replace(README_BGCUT, server.base))
    return f"{server.parent_origin}/{name}"


def messages_of(page, kind: str) -> list[dict]:
    return [m["data"] for m in page.evaluate("window.messages") if m["data"].get("type") == kind]


def wait_for_message(page, kind: str, count: int = 1, timeout: float = 30_000) -> None:
    page.wait_for_function(
        f"window.messages.filter(m => m.data && m.data.type === '{kind}').length >= {count}", timeout=timeout
    )


class UrlsRequested:
    """URLs containing `fragment` that the page or any of its frames requested."""

    def __init__(self, page, fragment: str):
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url) if fragment in request.url else None)


@pytest.fixture
def host(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    context.set_default_timeout(30_000)
    context.add_init_script(RECORD_MESSAGES)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_the_readme_host_page_embeds_the_editor_on_the_customers_own_account(host, server, tmp_path, shot):
    page = host
    mints = UrlsRequested(page, "/mint-token/")
    before = len(server.token_requests)
    page.goto(host_page(server, "shop.html", readme_host_page()))
    frame = page.frame_locator("#bgcut")
    wait_for_message(page, "ready")
    assert page.locator("#bgcut-status").inner_text() == "The editor is ready."
    assert server.token_requests[before:] == [200], "the customer's backend minted the first token"
    shot(page, "ready")

    image = tmp_path / "product.jpg"
    image.write_bytes(photo_jpeg(width=480, height=360))
    # Choosing the image is enough: the background removal starts by itself.
    frame.get_by_test_id("file-input").set_input_files(str(image))
    wait_for_message(page, "result", timeout=90_000)
    frame.locator(".result--loaded").nth(2).wait_for()
    (result,) = messages_of(page, "result")
    paths = result["output_file_paths"]
    assert len(paths) == 3
    # The host page listed them, as the README's page does.
    page.locator("#bgcut-results li").nth(2).wait_for()
    assert page.locator("#bgcut-results li").all_inner_texts() == paths
    shot(page, "result", full_page=True)

    # Every message came from the editor's origin, addressed by the editor.
    assert {m["origin"] for m in page.evaluate("window.messages")} == {server.base}
    # The outputs are the customer's: they download with the customer's key, not the operator's.
    for path in paths:
        assert server.file_get(path, key=server.customer_key).status_code == 200
        assert server.file_get(path, key=server.api_key).status_code == 404
    assert server.file_get(paths[0], key=server.customer_key).content.startswith(b"\x89PNG")
    assert mints.urls == [], "the embedded editor never calls the site's /mint-token/"

    # Reloading the iframe asks the host page again and starts again.
    asked = len(server.token_requests)
    embedded = next(f for f in page.frames if "/embed/" in f.url)
    embedded.evaluate("location.reload()")
    wait_for_message(page, "ready", count=2)
    assert len(server.token_requests) == asked + 1
    frame.locator("#editor.is-ready").wait_for()
    assert frame.get_by_test_id("error-message").is_hidden()
    shot(page, "reloaded")


SILENT_HOST = """<!doctype html><meta charset="utf-8"><title>A host that never answers</title>
<iframe id="bgcut" title="Background removal" style="width:100%;height:700px;border:0"
        src="https://bgcut.example/embed/?origin=ORIGIN"></iframe>"""

FORGING_HOST = """<!doctype html><meta charset="utf-8"><title>A host with a bad token</title>
<iframe id="bgcut" title="Background removal" style="width:100%;height:700px;border:0"
        src="https://bgcut.example/embed/?origin=ORIGIN"></iframe>
<script>
window.addEventListener("message", (e) => {
  if (e.data && e.data.type === "token-request")
    e.source.postMessage({ source: "bgcut-host", type: "token", request_id: e.data.request_id,
                           access_token: "not-a-real-token", expires_in: 60 }, e.origin);
});
</script>"""


def test_a_host_page_that_never_answers_hears_why_the_editor_cannot_start(host, server, shot):
    page = host
    page.goto(host_page(server, "silent.html", SILENT_HOST.replace("ORIGIN", server.parent_origin)))
    wait_for_message(page, "token-request")
    wait_for_message(page, "error", timeout=20_000)
    (error,) = messages_of(page, "error")
    assert f"({server.parent_origin}) did not send an access token within 10 seconds" in error["detail"]
    frame = page.frame_locator("#bgcut")
    assert frame.locator("#error-text").inner_text().strip() == error["detail"]
    assert frame.get_by_role("button", name="Try again").is_visible()
    assert messages_of(page, "ready") == []
    shot(page, "no-token")


def test_a_token_the_api_refuses_is_reported_to_the_host_page(host, server, shot):
    page = host
    page.goto(host_page(server, "forging.html", FORGING_HOST.replace("ORIGIN", server.parent_origin)))
    wait_for_message(page, "error")
    (error,) = messages_of(page, "error")
    assert error["status"] == 401
    assert "was refused: it has expired or is not valid" in error["detail"]
    # Asked once, refused, asked once more (a token may just have expired), refused again.
    assert len(messages_of(page, "token-request")) == 2
    assert page.frame_locator("#bgcut").locator("#error-text").inner_text().strip() == error["detail"]
    shot(page, "refused-token")


def test_the_editor_will_not_open_for_a_parent_that_is_not_allowed(host, server, shot):
    page = host
    # The same server on another origin (127.0.0.1 is not localhost): the frame is refused outright.
    other = f"http://127.0.0.1:{server.parent_port}"
    (server.parent_dir / "evil.html").write_text(
        SILENT_HOST.replace("https://bgcut.example", server.base).replace("ORIGIN", server.parent_origin))
    page.goto(f"{other}/evil.html")
    page.wait_for_timeout(1500)
    assert page.evaluate("window.messages") == []
    frame = page.frame(url=re.compile(r"/embed/"))
    assert frame is None or frame.locator("#editor").count() == 0
    shot(page, "not-allowed")


@pytest.mark.parametrize("origin", ["https://[::1", "https://shop.example:99999", ""])
def test_through_gunicorn_a_malformed_origin_is_a_400_with_a_sentence(server, origin):
    response = requests.get(f"{server.base}/embed/", params={"origin": origin}, timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"].endswith(".")
    page = requests.get(f"{server.base}/embed/", params={"origin": origin}, headers={"Accept": "text/html"},
                        timeout=10)
    assert page.status_code == 400
    assert "The editor cannot open here" in page.text
