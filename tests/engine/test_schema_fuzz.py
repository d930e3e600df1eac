"""Schema-driven fuzzing of the v3 API (schemathesis) through gunicorn: no input, however odd, gets a
5xx or an error that is not JSON {"detail"}. Hand-made malformed requests are in test_fuzz_http.py."""
from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.images import image_bytes


def _openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_openapi())


@pytest.fixture(scope="module")
def fuzz_headers(gunicorn_server):
    """The server's account holds a real file, so generated requests can also hit an existing path."""
    response = requests.post(f"{gunicorn_server.base}/v3/file-ops/upload/", headers=gunicorn_server.auth,
                             files={"files": ("a.jpg", image_bytes())}, data={"upload_path": "p"}, timeout=30)
    assert response.status_code == 200, response.text
    return gunicorn_server.auth


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_generated_request_gets_a_server_error_or_a_non_json_error(case, gunicorn_server, fuzz_headers, fuzz_tally):
    """Real HTTP against the real server (gunicorn, gunicorn.conf.py), as a client would send it."""
    response = case.call(base_url=gunicorn_server.base, headers=fuzz_headers, timeout=60)
    content_type = response.headers.get("content-type", [""])[0]
    fuzz_tally.record(f"{case.method} {case.formatted_path}", response.status_code, content_type, response.content)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 300:
        assert content_type.startswith("application/json"), response.text[:300]
        assert response.json().get("detail"), response.text[:300]


def test_the_schema_describes_every_v3_endpoint(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for endpoint in ("/v3/auth/access-token/", "/v3/file-ops/upload/", "/v3/tools/ai/remove-bg/process/",
                     "/v3/tools/ai/ai-cut/segment/", "/v3/tools/ai/ai-cut/prepare/", "/v3/tools/ai/ai-cut/preview/",
                     "/v3/files/{path}", "/v3/file-ops/get-public-url/"):
        assert endpoint in paths


def test_the_api_docs_page_renders(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"api/schema" in response.content
