"""The ops review page in Chromium against gunicorn: filters in the URL, an AI Cut session as one row,
a job's details, thumbnails and their placeholders, at desktop and phone sizes."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser.conftest import STAFF, photo_jpeg, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
FOLDER = "opsreview"  # every job these tests make reads or writes here: the filters below find only them


def _call(server, key: str, path: str, **kwargs) -> dict:
    response = requests.post(f"{server.base}{path}", headers={"Authorization": f"Token {key}"}, timeout=120, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def jobs(server):
    """A customer's AI Cut session of three clicks and a remove-bg, and the operator's own remove-bg whose
    input was deleted since (its thumbnail is a placeholder)."""
    customer, operator = server.customer_key, server.api_key
    for key in (customer, operator):
        _call(server, key, "/v3/file-ops/upload/", data={"upload_path": FOLDER},
              files={"files": ("shoe.jpg", photo_jpeg(width=480, height=360), "image/jpeg")})
    clicks = [[{"x": 240, "y": 190}], [{"x": 240, "y": 190}, {"x": 200, "y": 160}],
              [{"x": 240, "y": 190}, {"x": 200, "y": 160}, {"x": 280, "y": 220}]]
    for points in clicks:
        _call(server, customer, "/v3/tools/ai/ai-cut/segment/", json={
            "input_file_path": f"{FOLDER}/shoe.jpg", "output_file_path": f"{FOLDER}/shoe-cut.jpg",
            "foreground_points": points, "background_points": [{"x": 10, "y": 10}]})
    for key in (customer, operator):
        _call(server, key, "/v3/tools/ai/remove-bg/process/", json={
            "input_file_path": f"{FOLDER}/shoe.jpg",
            "output_variants": [{"output_file_path": f"{FOLDER}/shoe.png"},
                                {"output_file_path": f"{FOLDER}/shoe-thumb.webp", "max_resolution": 10_000}]})
    _call(server, operator, "/v3/file-ops/delete/", json={"file_path": f"{FOLDER}/shoe.jpg"})


def _open(browser, server, size: dict):
    context = browser.new_context(base_url=server.base, **size)
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(f"{message.text} {message.location.get('url', '')}")
            if message.type == "error" else None)
    sign_in(page, username=STAFF[0], password=STAFF[1], next_path="/")
    return context, page, problems


def _query(page) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}


def _all_thumbnails_loaded(page) -> bool:
    return page.evaluate("""() => [...document.querySelectorAll('.job-row img')]
        .every(img => img.complete && img.naturalWidth > 0)""")


def _page_fits(page) -> None:
    """No horizontal scroll of the page, and no element past its right edge except inside a container
    that scrolls on its own or in a visually hidden one (the table's header, for screen readers)."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    overflowing = page.evaluate("""(width) => {
        const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
            const box = p.getBoundingClientRect();
            if (box.width <= 1 && getComputedStyle(p).overflow === 'hidden') return true;
            if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX) && p !== document.documentElement
                && box.right <= width + 0.5) return true; } return false; };
        return [...document.querySelectorAll('body *')]
            .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > width + 0.5 && !scrolls(el))
            .map(el => el.outerHTML.slice(0, 80)); }""", width)
    assert overflowing == []


def test_on_a_desktop_staff_filter_the_log_expand_a_session_and_read_a_job(browser, server, jobs, shot):
    context, page, problems = _open(browser, server, DESKTOP)
    try:
        page.goto(f"/ops/?path={FOLDER}")
        rows = page.get_by_test_id("ops-job")
        # Three AI Cut clicks are one row; the two remove-bg calls are a row each.
        assert rows.count() == 3
        session = rows.filter(has=page.get_by_test_id("session-badge"))
        assert session.count() == 1 and "3 clicks" in session.inner_text()
        assert "customer" in session.inner_text()
        page.wait_for_function("() => [...document.querySelectorAll('.job-row img')].every(i => i.complete)")
        assert _all_thumbnails_loaded(page)
        # The operator's job lost its input: a placeholder, not a broken image.
        site_row = rows.filter(has_text="site")
        assert site_row.locator(".thumb-missing").get_by_text("Expired").is_visible()
        shot(page, "all-jobs")

        # Filters go into the URL (and only those set), so a reload or a shared link shows the same rows.
        page.get_by_label("Tool").select_option("ai-cut")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"tool=ai-cut"))
        assert _query(page) == {"tool": "ai-cut", "path": FOLDER, "page_size": "25"}
        page.reload()
        assert page.get_by_test_id("ops-job").count() == 1
        assert page.get_by_label("Tool").input_value() == "ai-cut"

        # The session expands from the keyboard into its clicks, oldest first.
        toggle = page.get_by_test_id("row-toggle").first
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        detail = page.get_by_test_id("ops-detail").first
        assert detail.is_visible()
        clicks = detail.get_by_test_id("session-click")
        assert clicks.count() == 3
        assert [clicks.nth(n).locator("td").nth(3).inner_text() for n in range(3)] == [
            "1 include, 1 exclude", "2 include, 1 exclude", "3 include, 1 exclude"]
        assert "segment" in detail.inner_text()
        shot(page, "ai-cut-session-expanded", full_page=True)
        page.keyboard.press("Enter")
        assert detail.is_hidden()

        # Account and time preset filters; a preset disables the from/to range.
        page.goto(f"/ops/?path={FOLDER}")
        page.get_by_label("Account").select_option("customer")
        page.get_by_label("When").select_option("1h")
        assert page.get_by_label("From (UTC)").is_disabled()
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"within=1h"))
        assert _query(page) == {"account": "customer", "within": "1h", "path": FOLDER, "page_size": "25"}
        accounts = page.locator(".job-row .account").all_inner_texts()
        assert accounts == ["customer", "customer"]
        shot(page, "filtered-by-account-and-hour")

        # A remove-bg job's parameters, stage timings and outcome on one screen.
        job = page.get_by_test_id("ops-job").filter(has_text="remove-bg")
        job.get_by_test_id("row-toggle").click()
        detail = page.locator(".detail-row:not([hidden])")
        text = detail.inner_text().lower()
        for words in ("parameters", "variants 2", f"output file path: {FOLDER}/shoe-thumb.webp, format: webp", "timings", "alpha",
                      "render", "succeeded (http 200)"):
            assert words in text
        shot(page, "remove-bg-detail", full_page=True)

        # A thumbnail opens large in a dialog; Escape closes it.
        job.locator("a.thumb").first.click()
        dialog = page.locator("#ops-lightbox")
        assert dialog.is_visible()
        page.wait_for_function("() => document.querySelector('.lightbox-image').naturalWidth > 0")
        assert dialog.locator(".lightbox-missing").is_hidden()
        shot(page, "lightbox")
        page.keyboard.press("Escape")
        assert dialog.is_hidden()
        assert problems == []
    finally:
        context.close()


def test_a_thumbnail_that_expired_after_the_page_was_drawn_becomes_a_placeholder(browser, server, jobs, shot):
    context, page, problems = _open(browser, server, DESKTOP)
    try:
        # The signed URL of a file swept in the meantime answers 404, as the engine does.
        page.route(re.compile(r"/v3/public/"), lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"detail": "This link has expired."}'))
        problems_before = len(problems)
        page.goto(f"/ops/?path={FOLDER}&tool=ai-cut")
        row = page.get_by_test_id("ops-job").first
        row.locator(".thumb-missing").first.wait_for()
        assert row.locator("img").count() == 0
        assert row.locator(".thumb-missing").count() == 2  # its input and its output
        shot(page, "expired-placeholders")
        # Chromium reports each failed load as a console error: those 404s are the point of this test.
        assert all("404" in p for p in problems[problems_before:])
    finally:
        context.close()


def test_on_a_phone_the_page_fits_and_a_session_and_a_job_open_by_touch(browser, server, jobs, shot):
    context, page, problems = _open(browser, server, PHONE)
    try:
        page.goto(f"/ops/?path={FOLDER}")
        assert page.get_by_test_id("ops-job").count() == 3
        page.wait_for_function("() => [...document.querySelectorAll('.job-row img')].every(i => i.complete)")
        _page_fits(page)
        shot(page, "phone-list", full_page=True)

        session = page.get_by_test_id("ops-job").filter(has=page.get_by_test_id("session-badge"))
        session.get_by_test_id("row-toggle").tap()
        detail = page.locator(".detail-row:not([hidden])")
        assert detail.get_by_test_id("session-click").count() == 3
        _page_fits(page)
        detail.scroll_into_view_if_needed()
        shot(page, "phone-session-expanded", full_page=True)
        session.get_by_test_id("row-toggle").tap()

        job = page.get_by_test_id("ops-job").filter(has_text="remove-bg").filter(has_text="customer")
        job.get_by_test_id("row-toggle").tap()
        assert "timings" in page.locator(".detail-row:not([hidden])").inner_text().lower()
        _page_fits(page)
        shot(page, "phone-job-detail", full_page=True)

        job.locator("a.thumb").first.tap()
        assert page.locator("#ops-lightbox").is_visible()
        page.wait_for_function("() => document.querySelector('.lightbox-image').naturalWidth > 0")
        assert page.locator("#ops-lightbox .lightbox-missing").is_hidden()
        shot(page, "phone-lightbox")
        page.get_by_test_id("lightbox-close").tap()
        assert page.locator("#ops-lightbox").is_hidden()

        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Apply filters").tap()
        page.wait_for_url(re.compile(r"status=failed"))
        assert "No jobs match these filters." in page.locator("main").inner_text()
        _page_fits(page)
        shot(page, "phone-no-match")
        assert problems == []
    finally:
        context.close()
