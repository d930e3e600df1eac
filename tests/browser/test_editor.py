"""The editor and the ops page in Chromium against a live server (u2netp)."""
from __future__ import annotations

import io
import json
import re
import time

import pytest
import requests
from PIL import Image

from tests.browser.conftest import MINT_TTL_S, STAFF, USER, photo_jpeg, photo_png, sign_in

pytestmark = pytest.mark.browser

SEGMENT = "/v3/tools/ai/ai-cut/segment/"
REMOVE_BG = "/v3/tools/ai/remove-bg/process/"
# Long enough for a token minted now to have expired on the server.
MINT_WAIT_MS = MINT_TTL_S * 1000 + 600


class RequestLog:
    """Requests the page sends to URLs containing `fragment`, and how many overlap at once."""

    def __init__(self, page, fragment: str):
        self.fragment = fragment
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.finished = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, request):
        if self.fragment in request.url:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _end(self, request):
        if self.fragment in request.url:
            self.in_flight -= 1
            self.finished += 1

    def bodies(self) -> list[dict]:
        return [json.loads(r.post_data) for r in self.requests]

    def wait_settled(self, page, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while (len(self.requests) < count or self.in_flight) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert len(self.requests) >= count and not self.in_flight, (len(self.requests), self.in_flight)


def auto_run_off(page) -> None:
    """These tests time their own remove-bg calls: the run-on-choose setting is switched off."""
    page.get_by_test_id("auto-run").set_checked(False)


def upload(page, tmp_path, *, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    auto_run_off(page)
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.get_by_test_id("run-remove-bg").and_(page.locator(":enabled")).wait_for()


def track_progress(page) -> None:
    # The <progress> value reflects to its attribute: record every value it takes.
    page.evaluate("""() => {
        window.__progress = [];
        const bar = document.querySelector('[data-testid="upload-progress"]');
        new MutationObserver(() => window.__progress.push(Number(bar.value)))
            .observe(bar, { attributes: true, attributeFilter: ["value"] });
    }""")


def test_a_user_signs_in_uploads_with_progress_removes_the_background_and_downloads_three_files(
    signed_in, server, tmp_path, shot
):
    page = signed_in
    shot(page, "editor")
    track_progress(page)
    # Throttle the upload so the progress bar has steps to show (about 1.5 s for ~1.5 MB).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 1_000_000,
    })
    data = photo_png(noise=24)
    assert len(data) > 1_000_000
    uploads = RequestLog(page, "/v3/file-ops/upload/")
    upload(page, tmp_path, name="My product photo.png", data=data)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
    })
    shot(page, "uploaded")
    progress = page.evaluate("window.__progress")
    assert progress[-1] == 100
    assert any(0 < value < 100 for value in progress), f"no intermediate progress: {progress}"
    assert progress == sorted(progress)
    assert uploads.requests[0].headers["authorization"].startswith("AccessToken ")

    # The default preset: full PNG + thumbnail WebP + white JPEG.
    assert page.get_by_test_id("variant-list").locator("li").count() == 3
    files = RequestLog(page, "/v3/files/")
    page.get_by_test_id("run-remove-bg").click()
    items = page.get_by_test_id("result-item")
    items.nth(2).wait_for()
    assert items.count() == 3
    page.locator(".result--loaded").nth(2).wait_for()
    page.locator("#compare:not([hidden])").wait_for()
    shot(page, "results", full_page=True)

    facts = [items.nth(i).locator(".result__facts").inner_text() for i in range(3)]
    assert all(re.search(r"\d+ × \d+ · [\d.]+ (B|KB|MB)", fact) for fact in facts), facts
    assert int(items.nth(0).get_attribute("data-width")) == 960  # the full PNG keeps its size
    assert int(items.nth(1).get_attribute("data-width")) * int(items.nth(1).get_attribute("data-height")) <= 250_000

    magic = {0: b"\x89PNG", 1: b"RIFF", 2: b"\xff\xd8\xff"}
    for index in range(3):
        item = items.nth(index)
        path = item.get_attribute("data-path")
        with page.expect_download() as info:
            item.get_by_test_id("result-download").click()
        download = info.value
        assert download.url.startswith("blob:"), download.url
        body = open(download.path(), "rb").read()
        assert body.startswith(magic[index])
        assert body == server.file_bytes(path), f"the download of {path} differs from the stored file"
        assert download.suggested_filename == path.rsplit("/", 1)[-1]
    # Every file request carried the token: no result is fetched without authorization.
    assert files.requests and all(r.headers.get("authorization", "").startswith("AccessToken ") for r in files.requests)
    # The object URLs are revoked after use.
    page.wait_for_timeout(1200)
    still_open = page.evaluate("""async (url) => {
        try { await fetch(url); return true; } catch { return false; }
    }""", download.url)
    assert still_open is False
    shot(page, "downloaded")


def test_ai_cut_buffers_clicks_made_while_a_request_runs_and_sends_them_all_next(signed_in, server, tmp_path, shot):
    page = signed_in
    W, H = 1600, 1200
    upload(page, tmp_path, name="cut.png", data=photo_png(width=W, height=H))
    uploads = RequestLog(page, "/v3/file-ops/upload/")
    page.get_by_test_id("aicut-mode").click()
    image = page.get_by_test_id("aicut-image")
    page.locator("#aicut-preparing[hidden]").wait_for(state="attached")
    # The PNG was converted in the browser and uploaded as a JPEG before the first click.
    assert len(uploads.requests) == 1
    stored = uploads.requests[0].response().json()["file_paths"][0]
    jpeg = server.file_bytes(stored)
    assert stored.endswith(".jpg") and jpeg.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(jpeg)).size == (W, H)
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [W, H]
    shot(page, "aicut-ready")

    segments = RequestLog(page, SEGMENT)
    box = image.bounding_box()
    assert box["width"] < W, "the image is shown scaled down"
    clicks = [(0.5, 0.5, True), (0.45, 0.7, True), (0.08, 0.1, False)]

    def at(fx, fy):
        return {"x": box["width"] * fx, "y": box["height"] * fy}

    # Extra network latency guarantees the answers are slower than the clicks, even on a fast box.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1,
    })
    with page.expect_request(lambda r: SEGMENT in r.url):
        image.click(position=at(*clicks[0][:2]))
    # Two more clicks while the first request is still running.
    image.click(position=at(*clicks[1][:2]))
    image.click(position=at(*clicks[2][:2]), modifiers=["Shift"])
    assert segments.finished == 0, "the clicks were not faster than the first response"
    assert page.get_by_test_id("aicut-point").count() == 3
    shot(page, "aicut-buffered")
    segments.wait_settled(page, 2)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
    })
    page.locator("#aicut-status", has_text="selection ready").wait_for()
    page.locator("#aicut-overlay.is-shown").wait_for()
    shot(page, "aicut-selection")

    assert segments.max_in_flight == 1
    bodies = segments.bodies()
    assert len(bodies) == 2
    # Image pixels, whatever the display scale (mouse events land on whole CSS pixels).
    expected = [{"x": fx * W, "y": fy * H} for fx, fy, _ in clicks]
    tolerance = W / box["width"] + 1

    def near(points, wanted):
        return len(points) == len(wanted) and all(
            abs(p["x"] - w["x"]) <= tolerance and abs(p["y"] - w["y"]) <= tolerance and isinstance(p["x"], int)
            for p, w in zip(points, wanted)
        )

    assert near(bodies[0]["foreground_points"], expected[:1]), bodies[0]
    assert bodies[0]["background_points"] == []
    assert bodies[1]["foreground_points"][:1] == bodies[0]["foreground_points"]
    assert near(bodies[1]["foreground_points"], expected[:2]), bodies[1]
    assert near(bodies[1]["background_points"], expected[2:]), bodies[1]
    assert bodies[1]["output_type"] == "mask"
    assert [b["output_file_path"].rsplit("/", 1)[-1] for b in bodies] == ["segment-v1.jpg", "segment-v2.jpg"]
    assert all(r.headers["authorization"].startswith("AccessToken ") for r in segments.requests)

    # Right-click adds a background point too.
    image.click(position=at(0.92, 0.9), button="right")
    segments.wait_settled(page, 3)
    assert near(segments.bodies()[2]["background_points"][-1:], [{"x": 0.92 * W, "y": 0.9 * H}])

    # Undo: the keyboard shortcut and the button. A state already computed is shown again
    # without a request; one never computed ([p1, p2]: it was buffered) is requested once.
    page.keyboard.press("Control+z")
    assert page.get_by_test_id("aicut-point").count() == 3
    page.get_by_test_id("aicut-undo").click()
    page.get_by_test_id("aicut-undo").click()
    assert page.get_by_test_id("aicut-point").count() == 1
    segments.wait_settled(page, 4)
    page.locator("#aicut-status", has_text="1 point · selection ready").wait_for()
    shot(page, "aicut-undone")
    assert len(segments.requests) == 4
    assert segments.bodies()[3]["foreground_points"] == bodies[1]["foreground_points"]
    assert segments.bodies()[3]["background_points"] == []
    assert segments.bodies()[3]["output_file_path"].endswith("/segment-v4.jpg")
    page.keyboard.press("Control+Shift+z")
    assert page.get_by_test_id("aicut-point").count() == 2
    page.locator("#aicut-status", has_text="2 points · selection ready").wait_for()
    assert len(segments.requests) == 4, "redo to a computed state needs no request"
    page.keyboard.press("Escape")
    assert page.get_by_test_id("aicut-point").count() == 0
    page.keyboard.press("Control+z")
    assert page.get_by_test_id("aicut-point").count() == 2

    # Export renders the refined selection through remove-bg with the mask.
    exports = RequestLog(page, REMOVE_BG)
    page.locator("#aicut-status", has_text="selection ready").wait_for()
    page.get_by_test_id("aicut-export").click()
    page.locator(".result--loaded").nth(2).wait_for()
    body = exports.bodies()[0]
    assert body["mask_file_path"].endswith("/segment-v4.jpg")
    assert len(body["output_variants"]) == 3
    shot(page, "aicut-exported", full_page=True)


def test_ai_cut_uploads_a_rotated_jpeg_upright_so_clicks_land_where_they_were_made(signed_in, server, tmp_path, shot):
    page = signed_in
    # Stored 400x300 with EXIF orientation 6: people (and the browser) see it 300 wide, 400 high.
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(io.BytesIO(photo_jpeg(width=400, height=300))).save(buffer, "JPEG", exif=exif)
    uploads = RequestLog(page, "/v3/file-ops/upload/")
    upload(page, tmp_path, name="phone-shot.jpg", data=buffer.getvalue())
    page.get_by_test_id("aicut-mode").click()
    page.locator("#aicut-preparing[hidden]").wait_for(state="attached")
    assert len(uploads.requests) == 2, "the rotated JPEG is re-encoded upright for AI Cut"
    converted = uploads.requests[1].response().json()["file_paths"][0]
    assert Image.open(io.BytesIO(server.file_bytes(converted))).size == (300, 400)
    assert page.get_by_test_id("aicut-image").evaluate("img => [img.naturalWidth, img.naturalHeight]") == [300, 400]
    segments = RequestLog(page, SEGMENT)
    page.get_by_test_id("aicut-image").click()
    segments.wait_settled(page, 1)
    assert segments.bodies()[0]["input_file_path"] == converted
    shot(page, "rotated")


def test_an_expired_token_is_re_minted_before_the_next_call(signed_in, server, tmp_path, shot):
    page = signed_in
    mints = RequestLog(page, "/mint-token/")
    calls = RequestLog(page, "/v3/")
    responses = []
    page.on("response", lambda r: responses.append((r.url, r.status)))
    upload(page, tmp_path, name="a.jpg", data=photo_jpeg(width=320, height=240))
    first_token = calls.requests[-1].headers["authorization"]
    mint_count = len(mints.requests)
    body = mints.requests[-1].response().json()
    # Wait past the token's expiry (BGCUT_MINT_TTL is tiny in these tests).
    page.wait_for_timeout(MINT_WAIT_MS)
    expired = requests.post(f"{server.base}/v3/file-ops/upload/", headers={"Authorization": first_token}, timeout=10)
    assert expired.status_code == 401, "the first token should have expired by now"
    page.get_by_test_id("run-remove-bg").click()
    page.get_by_test_id("result-item").first.wait_for()
    # At least one fresh mint before the call; a slow machine may renew once more while it runs.
    assert len(mints.requests) >= mint_count + 1
    assert mints.requests[-1].headers["x-csrftoken"]
    process = [r for r in calls.requests if REMOVE_BG in r.url][0]
    assert process.headers["authorization"] != first_token
    assert not [status for url, status in responses if status == 401], "the client sent an expired token"
    assert body["expires_at"].endswith("Z")
    shot(page, "reminted")


def test_a_token_refused_as_expired_is_re_minted_and_the_call_retried(signed_in, server, tmp_path, shot):
    page = signed_in
    upload(page, tmp_path, name="b.jpg", data=photo_jpeg(width=320, height=240))
    # Freeze the page's clock: it believes its token is fresh while the server sees it expire.
    frozen_at = page.evaluate("Date.now()")
    page.clock.set_fixed_time(frozen_at / 1000)  # Playwright for Python takes seconds
    page.wait_for_timeout(MINT_WAIT_MS)
    assert page.evaluate("Date.now()") == frozen_at
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if REMOVE_BG in r.url else None)
    mints = RequestLog(page, "/mint-token/")
    page.get_by_test_id("run-remove-bg").click()
    page.get_by_test_id("result-item").first.wait_for()
    assert statuses == [401, 200]
    assert len(mints.requests) == 1
    assert page.get_by_test_id("error-message").is_hidden()
    shot(page, "retried")


def test_a_dropped_file_and_a_pasted_image_are_uploaded(signed_in, server, shot):
    page = signed_in
    auto_run_off(page)
    uploads = RequestLog(page, "/v3/file-ops/upload/")
    jpeg = list(photo_jpeg(width=200, height=150))
    # Build the DataTransfer in the page, as a real drag from the desktop would deliver it.
    page.evaluate("""(bytes) => {
        const file = new File([new Uint8Array(bytes)], "dropped.jpg", { type: "image/jpeg" });
        const data = new DataTransfer();
        data.items.add(file);
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }""", jpeg)
    page.locator("#source-name", has_text="dropped.jpg").wait_for()
    page.get_by_test_id("run-remove-bg").and_(page.locator(":enabled")).wait_for()
    shot(page, "dropped")
    page.evaluate("""(bytes) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
        document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }""", list(photo_png(width=120, height=90)))
    page.locator("#source-name", has_text="image.png").wait_for()
    page.locator("#upload-label", has_text="Uploaded").wait_for()
    assert len(uploads.requests) == 2
    stored = [r.response().json()["file_paths"][0] for r in uploads.requests]
    assert stored[0].endswith(".jpg") and stored[1].endswith(".png")
    assert server.file_bytes(stored[0]) == bytes(jpeg)


def test_a_busy_server_is_waited_for_and_the_call_retried(signed_in, server, tmp_path, shot):
    page = signed_in
    upload(page, tmp_path, name="busy.jpg", data=photo_jpeg(width=320, height=240))
    answered = []

    def busy_once(route):
        if not answered:
            answered.append(time.monotonic())
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body=json.dumps({"detail": "The queue is full."}))
        else:
            answered.append(time.monotonic())
            route.continue_()

    page.route("**" + REMOVE_BG, busy_once)
    page.get_by_test_id("run-remove-bg").click()
    page.locator(".result--loaded").nth(2).wait_for()
    assert len(answered) == 2
    assert answered[1] - answered[0] >= 0.9, "the retry did not wait for Retry-After"
    assert page.get_by_test_id("error-message").is_hidden()
    shot(page, "retried")


def test_a_file_gone_from_the_server_is_explained_and_uploaded_again(signed_in, server, tmp_path, shot):
    page = signed_in
    uploads = RequestLog(page, "/v3/file-ops/upload/")
    upload(page, tmp_path, name="gone.jpg", data=photo_jpeg(width=320, height=240))
    stored = uploads.requests[0].response().json()["file_paths"][0]
    # As if its two hours were up.
    deleted = requests.post(f"{server.base}/v3/file-ops/delete/", json={"file_path": stored},
                            headers={"Authorization": f"Token {server.api_key}"}, timeout=10)
    assert deleted.ok, deleted.text
    page.get_by_test_id("run-remove-bg").click()
    error = page.get_by_test_id("error-message")
    error.wait_for()
    reupload = page.get_by_role("button", name="Upload again")
    assert reupload.is_visible()
    assert stored.rsplit("/", 1)[-1] in error.inner_text() or "expired" in error.inner_text().lower()
    shot(page, "gone")
    reupload.click()
    page.locator("#upload-label", has_text="Uploaded").wait_for()
    assert len(uploads.requests) == 2
    page.get_by_test_id("run-remove-bg").and_(page.locator(":enabled")).click()
    page.locator(".result--loaded").nth(2).wait_for()
    assert error.is_hidden()
    shot(page, "uploaded-again")


def test_the_ops_page_refuses_a_user_who_is_not_staff(page, server, shot):
    sign_in(page, username=USER[0], password=USER[1])
    response = page.goto("/ops/")
    assert response.status == 403
    assert "staff" in page.get_by_test_id("error-message").inner_text().lower()
    shot(page, "ops-refused")
    page.context.clear_cookies()
    sign_in(page, username=STAFF[0], password=STAFF[1], next_path="/ops/")
    assert page.goto("/ops/").status == 200
    shot(page, "ops-staff")


def test_the_editor_is_usable_at_phone_width_and_names_every_control(signed_in, server, tmp_path, shot):
    page = signed_in
    page.set_viewport_size({"width": 375, "height": 800})
    upload(page, tmp_path, name="phone.jpg", data=photo_jpeg(width=400, height=300))
    shot(page, "phone", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
    for test_id in ("file-input", "variant-list", "add-variant", "run-remove-bg", "aicut-mode"):
        assert page.get_by_test_id(test_id).count() == 1, test_id
    page.get_by_test_id("add-variant").click()
    assert page.get_by_test_id("variant-list").locator("li").count() == 4
    page.get_by_test_id("aicut-mode").click()
    page.locator("#aicut-preparing[hidden]").wait_for(state="attached")
    # Phones have no shift key: the Include/Exclude switch picks what a tap adds.
    page.get_by_role("radio", name="Exclude").check()
    page.get_by_test_id("aicut-image").click()
    assert page.get_by_test_id("aicut-point").first.get_attribute("data-positive") == "false"
    shot(page, "phone-aicut", full_page=True)
    # Every interactive element in the accessibility tree has a name (all settings expanded).
    collapsed = page.locator('.variant__toggle[aria-expanded="false"]')
    while collapsed.count():
        collapsed.first.click()
    assert page.locator('[data-field="alpha"]:visible').count() == 4
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    roles = {"button", "combobox", "checkbox", "slider", "textbox", "tab", "link", "spinbutton", "ColorWell"}
    unnamed = [
        node["role"]["value"] for node in nodes
        if not node.get("ignored") and node.get("role", {}).get("value") in roles
        and not (node.get("name", {}).get("value") or "").strip()
    ]
    assert not unnamed, f"controls without an accessible name: {unnamed}"

