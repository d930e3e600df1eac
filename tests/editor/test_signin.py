"""Sign-in throttling: failed sign-ins counted per username and per client address, then a 429 page."""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from editor import signin
from tests.tokens.fakes import TOKENS_NOW as NOW

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "right-password-123"


@pytest.fixture(autouse=True)
def rates(settings, tokens_clock):
    settings.BGCUT_LOGIN_RATE = "3/hour"
    settings.BGCUT_LOGIN_ADDRESS_RATE = "5/hour"
    return tokens_clock


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("root", password=PASSWORD, is_staff=True, is_superuser=True)


def attempt(path, username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def test_it_locks_a_username_after_its_failures_until_the_window_ends(db):
    for number in range(3):
        assert signin.signin_lockout(username="root", address="10.0.0.1") is None
        signin.signin_failure_record(username="root", address=f"10.0.0.{number + 1}")
    lockout = signin.signin_lockout(username=" ROOT ", address="10.0.0.9")  # any case, any address
    assert lockout is not None
    assert lockout.retry_after == 3600  # NOW is on the hour: the whole window is left
    assert lockout.until == NOW + timedelta(hours=1)
    assert signin.signin_lockout(username="alice", address="10.0.0.9") is None


def test_it_locks_an_address_that_tries_many_usernames(db):
    for number in range(5):
        signin.signin_failure_record(username=f"user{number}", address="10.0.0.7")
    assert signin.signin_lockout(username="someone-new", address="10.0.0.7") is not None
    assert signin.signin_lockout(username="someone-new", address="10.0.0.8") is None


def test_the_sign_in_form_answers_429_with_when_to_try_again_and_checks_no_password_meanwhile(staff, rates):
    for _ in range(3):
        wrong = attempt("/accounts/login/", "root", "wrong-password")
        assert wrong.status_code == 200
        assert "correct username and password" in wrong.content.decode()
    rates["now"] = NOW + timedelta(minutes=48)
    locked = attempt("/accounts/login/", "root", PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(12 * 60)
    page = locked.content.decode()
    assert "Sign-in is paused" in page
    assert "Try again in 12 minutes (after 05:00 UTC)" in page
    assert "_auth_user_id" not in locked.wsgi_request.session

    rates["now"] = NOW + timedelta(hours=1)
    signed_in = attempt("/accounts/login/", "root", PASSWORD)
    assert signed_in.status_code == 302


def test_the_admin_sign_in_counts_and_locks_too(staff):
    codes = [attempt("/admin/login/", "root", "guess-%d" % n).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    # The two forms share one count: the site's form is locked for this user too.
    assert attempt("/accounts/login/", "root", PASSWORD, address="10.0.0.2").status_code == 429
    assert "Sign-in is paused" in attempt("/admin/login/", "root", PASSWORD).content.decode()


def test_failures_of_one_user_do_not_lock_another(staff, django_user_model):
    django_user_model.objects.create_user("alice", password=PASSWORD)
    for _ in range(3):
        attempt("/accounts/login/", "root", "wrong", address="10.0.0.1")
    assert attempt("/accounts/login/", "alice", PASSWORD, address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_is_not_counted(staff):
    for _ in range(6):
        assert attempt("/accounts/login/", "root", PASSWORD).status_code == 302


def test_a_get_of_the_sign_in_page_is_never_throttled(staff):
    for _ in range(3):
        attempt("/accounts/login/", "root", "wrong")
    assert Client(REMOTE_ADDR="10.0.0.1").get("/accounts/login/").status_code == 200


@pytest.mark.parametrize("name", ["BGCUT_LOGIN_RATE", "BGCUT_LOGIN_ADDRESS_RATE"])
def test_a_malformed_sign_in_rate_stops_the_server_at_start_up(tmp_path, name):
    env = {**os.environ, "DJANGO_SECRET_KEY": "x" * 50, "BGCUT_VAR_DIR": str(tmp_path), name: "10/15min"}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert f"{name}: A rate must look like '30/min'" in done.stderr


@pytest.mark.parametrize(("seconds", "words"), [(1, "1 minute"), (60, "1 minute"), (61, "2 minutes"),
                                                 (5400, "90 minutes"), (5401, "2 hours"), (41_520, "12 hours")])
def test_the_wait_is_said_in_minutes_or_hours(seconds, words):
    assert signin.wait_words(seconds) == words
