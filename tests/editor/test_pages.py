"""The editor page, sign-in, and the demo users command."""
import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client


def test_the_editor_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_the_editor_renders_the_front_end_contract(client, django_user_model, settings):
    settings.BGCUT_PUBLIC_API_BASE = "https://api.example"
    client.force_login(django_user_model.objects.create_user("alice", password="pw-alice-123"))
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "editor/editor.html"
    for key, value in {"api_base": "https://api.example", "mint_url": "/mint-token/",
                       "embed": False, "embed_parent_origin": None}.items():
        assert response.context[key] == value
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in response


def test_the_sign_in_page_has_labelled_fields(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Username</label>' in page
    assert '<label for="id_password">Password</label>' in page
    assert 'autocomplete="current-password"' in page


def test_signing_in_leads_to_the_editor(django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    browser = Client()
    response = browser.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert browser.get("/").status_code == 200


def test_a_wrong_password_is_said_in_words(client, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = client.post("/accounts/login/", {"username": "alice", "password": "nope"}).content.decode()
    assert 'role="alert"' in page and "Please enter a correct username and password" in page


def run_demo_command(*args):
    out = io.StringIO()
    call_command("create_demo_user", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    return dict(line.split(": ", 1)[1].replace("username=", "").split(" password=") for line in lines)


def test_the_demo_command_creates_a_demo_and_a_staff_user_and_prints_working_credentials(django_user_model):
    credentials = run_demo_command()
    assert set(credentials) == {"demo", "staff"}
    demo = authenticate(username="demo", password=credentials["demo"])
    staff = authenticate(username="staff", password=credentials["staff"])
    assert demo is not None and not demo.is_staff
    assert staff is not None and staff.is_staff


def test_the_demo_command_is_idempotent(django_user_model):
    run_demo_command()
    credentials = run_demo_command("--password", "demo-pass-1", "--staff-password", "staff-pass-1")
    assert django_user_model.objects.count() == 2
    assert credentials == {"demo": "demo-pass-1", "staff": "staff-pass-1"}
    assert authenticate(username="demo", password="demo-pass-1") is not None


@pytest.mark.parametrize("path", ["tokens", "editor"])
def test_the_site_side_never_imports_the_engine(path, settings):
    import ast

    for source in (settings.BASE_DIR / path).rglob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(n == "engine" or n.startswith("engine.") for n in names), f"{source} imports the engine"
        assert "import_module(\"engine" not in source.read_text()
