"""Sign-in throttling through the real form, in Chromium, against gunicorn."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import LOCKED_OUT, LOGIN_RATE

pytestmark = pytest.mark.browser

ALLOWED_FAILURES = int(LOGIN_RATE.split("/")[0])


def submit(page, username: str, password: str) -> int:
    page.get_by_label(re.compile("user ?name", re.I)).fill(username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    with page.expect_response(lambda r: r.url.endswith("/accounts/login/") and r.request.method == "POST") as posted:
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_load_state()
    return posted.value.status


def test_wrong_passwords_lock_the_account_with_a_429_page_saying_when_to_try_again(page, server, shot):
    page.goto("/accounts/login/")
    for attempt in range(ALLOWED_FAILURES):
        assert submit(page, LOCKED_OUT[0], f"wrong-guess-{attempt}") == 200
        assert page.locator("#login-errors").is_visible()
    shot(page, "last-allowed-failure")
    # Now even the right password is refused, without being checked, and the page says until when.
    assert submit(page, LOCKED_OUT[0], LOCKED_OUT[1]) == 429
    message = page.get_by_test_id("signin-locked").inner_text()
    assert "Too many wrong passwords" in message
    assert re.search(r"Try again in \d+ (minutes?|hours) \(after \d\d:\d\d UTC\)\.", message), message
    shot(page, "locked")
    page.get_by_role("link", name="Back to the sign-in page").click()
    assert submit(page, LOCKED_OUT[0], LOCKED_OUT[1]) == 429
    assert "sessionid" not in {cookie["name"] for cookie in page.context.cookies()}
