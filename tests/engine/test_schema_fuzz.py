"""Schema-driven fuzzing of the v3 API (schemathesis): no input, however odd, gets a 5xx."""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.images import image_bytes

def _openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_openapi())


@pytest.fixture
def fuzz_key(make_account, key_client, fake_models):
    """An account holding a real file, so generated requests can also hit existing paths."""
    from tests.images import upload_file

    account, raw = make_account("fuzz")
    key_client(raw).post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())],
                                                  "upload_path": "p"}, format="multipart")
    return raw


@pytest.fixture
def fake_models(monkeypatch):
    from engine import inference
    from tests.engine.test_tools import CountingFakeStore

    monkeypatch.setattr(inference, "model_store", lambda: CountingFakeStore())


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_generated_request_gets_a_server_error(case, fuzz_key, live_server):
    """Real HTTP against a live server, as a client would send it."""
    response = case.call(base_url=live_server.url, headers={"Authorization": f"Token {fuzz_key}"})
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400 and response.headers.get("Content-Type", [""])[0].startswith("application/json"):
        assert response.json().get("detail"), response.text


def test_the_schema_describes_every_v3_endpoint(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for endpoint in ("/v3/auth/access-token/", "/v3/file-ops/upload/", "/v3/tools/ai/remove-bg/process/",
                     "/v3/tools/ai/ai-cut/segment/", "/v3/files/{path}", "/v3/file-ops/get-public-url/"):
        assert endpoint in paths


def test_the_api_docs_page_renders(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"api/schema" in response.content
