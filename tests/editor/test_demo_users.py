"""`make run`'s demo and staff users: passwords are set once, and reset only when asked."""
import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from engine.management.commands import bootstrap_demo

pytestmark = pytest.mark.django_db


def run(command="create_demo_user", **options) -> dict[str, str]:
    """Run a command; the passwords it printed, by username."""
    out = io.StringIO()
    call_command(command, stdout=out, stderr=io.StringIO(), **options)
    return {"output": out.getvalue(), **dict(re.findall(r"username=(\w+) password=(\S+)", out.getvalue()))}


def signs_in(username, password) -> bool:
    return authenticate(username=username, password=password) is not None


def test_the_first_run_creates_both_users_with_the_passwords_it_prints():
    first = run()
    assert signs_in("demo", first["demo"]) and signs_in("staff", first["staff"])


def test_a_second_run_keeps_the_passwords_and_says_how_to_reset_them():
    first = run()
    second = run()
    assert "demo" not in second and "staff" not in second, "no new password was printed"
    assert second["output"].count("password kept from an earlier run") == 2
    assert "create_demo_user --reset-passwords" in second["output"]
    assert signs_in("demo", first["demo"]) and signs_in("staff", first["staff"])


def test_reset_passwords_sets_and_prints_new_ones():
    first = run()
    reset = run(reset_passwords=True)
    assert reset["demo"] != first["demo"]
    assert signs_in("demo", reset["demo"]) and signs_in("staff", reset["staff"])
    assert not signs_in("demo", first["demo"])


def test_an_explicit_password_is_set_even_for_an_existing_user():
    run()
    run(password="chosen-demo-pw-1")
    assert signs_in("demo", "chosen-demo-pw-1")


def test_make_runs_bootstrap_twice_keeps_the_passwords(monkeypatch, settings, tmp_path):
    # bootstrap_demo writes a new key into .env when BGCUT_API_KEY is unknown: keep it off the checkout's.
    monkeypatch.setattr(bootstrap_demo, "ENV_FILE", tmp_path / ".env")
    settings.BGCUT_API_KEY = ""
    first = run("bootstrap_demo")
    assert signs_in("staff", first["staff"])
    second = run("bootstrap_demo")
    assert "password kept from an earlier run" in second["output"]
    assert signs_in("staff", first["staff"]) and signs_in("demo", first["demo"])
    reset = run("bootstrap_demo", reset_passwords=True)
    assert signs_in("staff", reset["staff"]) and not signs_in("staff", first["staff"])
