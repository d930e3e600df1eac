"""/mint-token/ against the live embedded v3 engine, over real HTTP."""
import io

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from tests.images import image_bytes
from tokens.views import KEY_REJECTED

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site_key(live_server, settings):
    """The deployment's own key, made the way an operator does, and the site pointed at the live API."""
    out = io.StringIO()
    call_command("create_api_key", "site", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    settings.BGCUT_API_BASE = live_server.url
    settings.BGCUT_API_KEY = key
    settings.BGCUT_MINT_TTL = 120
    return key


@pytest.fixture
def browser(django_user_model):
    signed_in = Client()
    signed_in.force_login(django_user_model.objects.create_user("alice", password="pw-alice-123"))
    return signed_in


def test_a_minted_token_works_on_the_live_engine_within_its_scope_only(site_key, browser, live_server):
    response = browser.post("/mint-token/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expires_at"].endswith("Z")
    auth = {"Authorization": f"AccessToken {body['access_token']}"}
    api = live_server.url

    png = image_bytes("PNG", size=(40, 30))
    uploaded = requests.post(f"{api}/v3/file-ops/upload/", headers=auth, timeout=30,
                             files={"files": ("shot.png", png, "image/png")}, data={"upload_path": "live"})
    assert uploaded.status_code == 200, uploaded.text
    (path,) = uploaded.json()["file_paths"]
    info = requests.get(f"{api}/v3/file-ops/info/", headers=auth, params={"file_path": path}, timeout=30)
    assert info.status_code == 200, info.text
    assert (info.json()["width"], info.json()["height"]) == (40, 30)
    download = requests.get(f"{api}/v3/files/{path}", headers=auth, timeout=30)
    assert download.status_code == 200
    assert download.content == png

    # Outside the editor's paths: listing, deleting and minting are refused.
    assert requests.get(f"{api}/v3/file-ops/list/", headers=auth, timeout=30).status_code == 403
    assert requests.post(f"{api}/v3/file-ops/delete/", headers=auth, json={"file_path": path},
                         timeout=30).status_code == 403
    assert requests.post(f"{api}/v3/auth/access-token/", headers=auth, json={}, timeout=30).status_code in (401, 403)


def test_a_key_the_live_engine_does_not_know_is_reported_as_the_servers_problem(site_key, browser, settings):
    settings.BGCUT_API_KEY = "bgcut_not_a_real_key_000000000000"
    response = browser.post("/mint-token/")
    assert response.status_code == 502
    assert response.json() == {"detail": KEY_REJECTED}


def test_an_unreachable_engine_is_a_502(browser, settings, db):
    settings.BGCUT_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.BGCUT_API_KEY = "any-key"
    response = browser.post("/mint-token/")
    assert response.status_code == 502
    assert "cannot be reached" in response.json()["detail"]
