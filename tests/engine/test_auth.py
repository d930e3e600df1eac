"""API keys, access tokens and their scope."""
from __future__ import annotations

import pytest

from engine.keys import api_key_revoke
from engine.models import ApiKey

pytestmark = pytest.mark.django_db

USAGE = "/v3/file-ops/usage/"


def mint(client, **body):
    return client.post("/v3/auth/access-token/", body, format="json")


def token_client(token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"AccessToken {token}")
    return client


@pytest.mark.parametrize(
    "header, words",
    [
        (None, "Authentication required"),
        ("Token nope", "Invalid API key"),
        ("Bearer abc", "Unsupported Authorization scheme"),
        ("Token", "Malformed"),
        ("Token a b", "Malformed"),
        ("AccessToken garbage", "Invalid access token"),
        ("Basic dXNlcjpwYXNz", "Unsupported Authorization scheme"),
    ],
)
def test_it_answers_401_with_a_reason_for_any_bad_authorization(client, header, words):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(USAGE, **extra)
    assert response.status_code == 401
    assert words in response.json()["detail"]


def test_it_accepts_a_valid_api_key(acme):
    assert acme[2].get(USAGE).status_code == 200


def test_a_revoked_key_is_refused(acme):
    account, raw, client = acme
    api_key_revoke(key=ApiKey.objects.get(account=account))
    assert client.get(USAGE).status_code == 401


def test_it_mints_a_token_that_works_within_its_scope_only(acme):
    _, _, client = acme
    response = mint(client, paths=["/v3/file-ops/usage/"], expires_in=30)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token_client(token).get(USAGE).status_code == 200
    outside = token_client(token).get("/v3/file-ops/list/")
    assert outside.status_code == 403
    assert "/v3/file-ops/list/" in outside.json()["detail"]


def test_a_token_glob_matches_nested_file_paths(acme):
    _, _, client = acme
    token = mint(client, paths=["/v3/files/*"]).json()["access_token"]
    assert token_client(token).get("/v3/files/a/b/missing.png").status_code == 404
    assert token_client(token).get(USAGE).status_code == 403


def test_the_scope_is_checked_against_the_routed_path_not_the_script_name(acme):
    """A server that believed a SCRIPT_NAME header strips it off PATH_INFO: the view is the listing."""
    token = mint(acme[2], paths=["/v3/files/*"]).json()["access_token"]
    response = token_client(token).get("/v3/file-ops/list/", SCRIPT_NAME="/v3/files")
    assert response.status_code == 403
    assert "/v3/file-ops/list/" in response.json()["detail"]


@pytest.mark.parametrize("header", ["\u00a0", "\u2003\u00a0\u3000", "\x85", " \t "])
def test_an_authorization_header_of_only_whitespace_is_a_401(client, header):
    response = client.get(USAGE, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "Authorization" in response.json()["detail"]


def test_the_wsgi_entry_puts_a_script_name_back_into_the_path(monkeypatch):
    """Whatever SCRIPT_NAME a server passes, Django routes the URL that was actually requested."""
    import bgcut_site.wsgi

    seen = []
    monkeypatch.setattr(bgcut_site.wsgi, "django_application", lambda environ, start: seen.append(dict(environ)))
    bgcut_site.wsgi.application({"SCRIPT_NAME": "/v3/files", "PATH_INFO": "/v3/file-ops/list/"}, None)
    bgcut_site.wsgi.application({"SCRIPT_NAME": "", "PATH_INFO": "/v3/file-ops/usage/"}, None)
    assert [(e["SCRIPT_NAME"], e["PATH_INFO"]) for e in seen] == [
        ("", "/v3/files/v3/file-ops/list/"), ("", "/v3/file-ops/usage/"),
    ]


def test_the_default_token_scope_is_everything(acme):
    token = mint(acme[2]).json()["access_token"]
    assert token_client(token).get("/v3/file-ops/list/").status_code == 200


def test_a_token_expires(acme, clock):
    token = mint(acme[2], expires_in=60).json()["access_token"]
    clock.advance(seconds=59)
    assert token_client(token).get(USAGE).status_code == 200
    clock.advance(seconds=1)
    response = token_client(token).get(USAGE)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_tampered_token_is_refused(acme):
    token = mint(acme[2], paths=["/v3/file-ops/usage/"]).json()["access_token"]
    payload, _, rest = token.partition(":")
    import base64
    import json

    padded = payload + "=" * (-len(payload) % 4)
    claims = json.loads(base64.urlsafe_b64decode(padded))
    claims["p"] = ["*"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + ":" + rest
    for bad in (forged, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x"):
        response = token_client(bad).get("/v3/file-ops/list/")
        assert response.status_code == 401, bad


def test_a_token_cannot_mint_a_token(acme):
    token = mint(acme[2]).json()["access_token"]
    response = mint(token_client(token))
    assert response.status_code == 403
    assert "API key" in response.json()["detail"]


def test_revoking_the_key_invalidates_its_tokens(acme):
    account, _, client = acme
    token = mint(client).json()["access_token"]
    api_key_revoke(key=ApiKey.objects.get(account=account))
    response = token_client(token).get(USAGE)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 0},
        {"expires_in": 601},
        {"expires_in": "60"},
        {"expires_in": True},
        {"paths": "*"},
        {"paths": []},
        {"paths": [1]},
        {"paths": ["x" * 300]},
    ],
)
def test_it_refuses_a_bad_mint_request_with_a_400_naming_the_field(acme, body):
    response = mint(acme[2], **body)
    assert response.status_code == 400
    field = next(iter(body))
    assert field in response.json()["detail"]


def test_malformed_json_is_a_400(acme):
    response = acme[2].post("/v3/auth/access-token/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_an_unsupported_content_type_is_a_415_with_a_detail(acme):
    response = acme[2].post("/v3/auth/access-token/", "x", content_type="text/csv")
    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_wrong_method_is_a_405_with_a_detail(acme):
    response = acme[2].get("/v3/auth/access-token/")
    assert response.status_code == 405
    assert "GET" in response.json()["detail"]


def test_an_unknown_v3_url_is_a_json_404(acme):
    response = acme[2].get("/v3/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_cors_preflight_is_answered_for_allowed_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    response = client.options(
        "/v3/file-ops/upload/",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "authorization" in response["Access-Control-Allow-Headers"].lower()
    other = client.options("/v3/file-ops/upload/", HTTP_ORIGIN="https://evil.example",
                           HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


def test_create_api_key_prints_the_key_last(db, capsys):
    from django.core.management import call_command

    from engine.keys import api_key_find

    call_command("create_api_key", "newco")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert api_key_find(raw_key=last_line).account.name == "newco"


def test_a_missing_trailing_slash_is_a_json_308_even_for_a_post_in_debug(acme, settings):
    settings.DEBUG = True  # Django's own slash redirect raises for a POST in debug
    response = acme[2].post("/v3/file-ops/copy?x=1", {}, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/v3/file-ops/copy/?x=1"
    assert "/v3/file-ops/copy/?x=1" in response.json()["detail"]


def test_djangos_400_and_403_pages_are_json_under_v3_only(rf):
    from django.core.exceptions import DisallowedHost, RequestDataTooBig

    from engine.errors import json_400, json_403

    assert json_400(rf.get("/v3/file-ops/list/"), DisallowedHost("x")).status_code == 400
    too_big = json_400(rf.post("/v3/file-ops/copy/"), RequestDataTooBig("x"))
    assert too_big.status_code == 413 and b"2.5 MB" in too_big.content
    assert json_403(rf.get("/v3/ops/jobs/"), None)["Content-Type"] == "application/json"
    assert json_400(rf.get("/accounts/login/"), DisallowedHost("x"))["Content-Type"].startswith("text/html")
