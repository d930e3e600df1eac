"""The server's API key appears in no page, static file, header or cookie the site serves."""
import pytest
from django.test import Client

from tests.tokens.fakes import CANARY_KEY, FakeResponse, FakeUpstream, ops_job
from tokens import client

PARENT = "https://shop.example"


@pytest.fixture
def upstream(monkeypatch, settings):
    """The real tokens.client runs; only the HTTP call is faked (and echoes keys back, to be nasty)."""
    settings.BGCUT_API_KEY = CANARY_KEY
    settings.BGCUT_API_BASE = "http://upstream.test"
    settings.BGCUT_EMBED_ALLOWED_ORIGINS = [PARENT]
    fake = FakeUpstream(answers={
        "/v3/auth/access-token/": FakeResponse(200, {"access_token": "tok-1"}),
        "/v3/ops/jobs/": FakeResponse(200, {"count": 1, "page": 1, "pages": 1, "results": [ops_job()]}),
        "/v3/ops/accounts/": FakeResponse(200, {"results": [{"name": "acme"}]}),
    })
    monkeypatch.setattr(client.requests, "request", fake)
    return fake


def assert_no_key(response, where):
    body = response.getvalue() if response.streaming else response.content
    assert CANARY_KEY.encode() not in body, f"key in the body of {where}"
    for name, value in response.items():
        assert CANARY_KEY not in value, f"key in header {name} of {where}"
    for morsel in response.cookies.values():
        assert CANARY_KEY not in morsel.OutputString(), f"key in cookie {morsel.key} of {where}"


def static_files(settings):
    for folder in settings.STATICFILES_DIRS:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            yield path, "/static/" + path.relative_to(folder).as_posix()


def test_the_api_key_is_in_no_page_header_or_cookie(upstream, django_user_model, settings):
    user = django_user_model.objects.create_user("alice", password="pw-alice-123")
    staff = django_user_model.objects.create_user("root", password="pw-root-1234", is_staff=True,
                                                  is_superuser=True)
    anonymous, signed_in, operator = Client(), Client(), Client()
    signed_in.force_login(user)
    operator.force_login(staff)

    checked = {"/embed/ (allowed origin)": Client().get("/embed/", {"origin": PARENT})}
    for path in ("/", "/accounts/login/", "/embed/", "/mint-token/", "/ops/", "/api/docs/", "/api/schema/",
                 "/admin/login/", "/no-such-page/"):
        checked[f"{path} (anonymous)"] = anonymous.get(path)
    for path in ("/", "/embed/", "/ops/", "/mint-token/"):
        checked[f"{path} (user)"] = signed_in.get(path)
    for path in ("/", "/ops/", "/admin/"):
        checked[f"{path} (staff)"] = operator.get(path)
    checked["POST /mint-token/"] = signed_in.post("/mint-token/")
    checked["POST /accounts/login/"] = Client().post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})

    # A hostile or buggy upstream that echoes the key back must not get it through to the browser.
    echo = FakeResponse(401, {"detail": f"Invalid key {CANARY_KEY}"})
    upstream.answers["/v3/auth/access-token/"] = echo
    upstream.answers["/v3/ops/jobs/"] = echo
    checked["POST /mint-token/ (key rejected)"] = signed_in.post("/mint-token/")
    checked["/ops/ (key rejected)"] = operator.get("/ops/")

    assert checked["/ops/ (staff)"].status_code == 200
    assert checked["POST /mint-token/"].status_code == 200
    assert checked["/embed/ (allowed origin)"].status_code == 200
    assert checked["POST /mint-token/ (key rejected)"].status_code == 502
    for where, response in checked.items():
        assert_no_key(response, where)
    # The key was really in play: it went upstream, and only in the Authorization header.
    server_calls = [call for call in upstream.calls if call["headers"]["Authorization"] == f"Token {CANARY_KEY}"]
    assert len(server_calls) >= 3
    assert all(CANARY_KEY not in repr({k: v for k, v in call.items() if k != "headers"}) for call in upstream.calls)


def test_the_api_key_is_in_no_static_file(upstream, settings):
    files = list(static_files(settings))
    assert files, "expected the front end's files under static/"
    browser = Client()
    for path, url in files:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert_no_key(response, url)
        assert CANARY_KEY.encode() not in path.read_bytes()
