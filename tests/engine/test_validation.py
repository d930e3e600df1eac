"""One validation path: the serializers the OpenAPI schema is drawn from are the ones that run."""
from __future__ import annotations

import pytest

from tests.engine.test_tools import (  # noqa: F401  (fake_store is a fixture)
    REMOVE_BG, fake_store, put, put_left_mask,
)
from tests.images import image_bytes, upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _request_component(schema, path, method="post"):
    operation = schema["paths"][path][method]
    content = operation["requestBody"]["content"]
    ref = next(iter(content.values()))["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


JSON_CALLS = [
    ("/v3/auth/access-token/", {"expires_in": 30}),
    ("/v3/file-ops/copy/", {"source_path": "p/p.jpg", "destination_path": "p/q.jpg"}),
    ("/v3/file-ops/delete/", {"file_path": "p/none.jpg"}),
    ("/v3/file-ops/delete-folder/", {"folder_path": "none"}),
    ("/v3/file-ops/get-public-url/", {"file_path": "p/p.jpg"}),
    (REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [{"output_file_path": "o/a.png"}]}),
    ("/v3/tools/ai/ai-cut/segment/", {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg"}),
    ("/v3/tools/ai/ai-cut/prepare/", {"input_file_path": "p/p.jpg"}),
    ("/v3/tools/ai/ai-cut/preview/", {"input_file_path": "p/p.jpg", "foreground_points": [{"x": 1, "y": 1}]}),
]


@pytest.mark.parametrize("url, body", JSON_CALLS)
def test_every_body_refuses_a_field_it_does_not_know(acme, fake_store, url, body):  # noqa: F811
    _, _, client = acme
    put(client)
    response = client.post(url, {**body, "colour": "#fff"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("colour is an unknown field; allowed: ")
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}


def test_uploads_and_query_strings_refuse_unknown_fields_too(acme):
    _, _, client = acme
    upload = client.post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())], "upload_path": "p",
                                                  "expires": "1"}, format="multipart")
    assert upload.status_code == 400 and upload.json()["detail"].startswith("expires is an unknown field")
    listing = client.get("/v3/file-ops/list/", {"glob": "*.jpg"})
    assert listing.status_code == 400 and listing.json()["detail"].startswith("glob is an unknown field")
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": []}


@pytest.mark.parametrize("url, body", [
    ("/v3/file-ops/delete/", {"file_path": "p/p.jpg", "key": "p/other.jpg"}),
    ("/v3/file-ops/get-public-url/", {"file_path": "p/p.jpg", "key": "p/p.jpg"}),
    (REMOVE_BG, {"input_file_path": "p/p.jpg", "input_key": "p/p.jpg", "output_variants": [{"output_file_path": "o/a.png"}]}),
])
def test_both_dialects_at_once_is_a_400_instead_of_a_silent_choice(acme, url, body):
    _, _, client = acme
    put(client)
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert "two dialects" in response.json()["detail"]
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}


def test_a_nested_error_is_one_sentence_naming_the_field_and_index(acme):
    variants = [{"output_file_path": "o/a.png"}, {"output_file_path": "o/b.png"},
                {"output_file_path": "o/c.gif", "format": "gif"}]
    response = acme[2].post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": variants}, format="json")
    assert response.json() == {"detail": "output_variants[2].format must be one of png, jpeg, jpg, webp, avif."}
    points = acme[2].post("/v3/tools/ai/ai-cut/segment/", {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg",
                                                           "background_points": [{"x": 1, "y": 1}, {"x": 2}]},
                          format="json")
    assert points.json() == {"detail": "background_points[1].y is required."}


def test_mask_key_is_the_documented_key_dialect_twin_of_mask_file_path(acme, fake_store, schema):  # noqa: F811
    properties = _request_component(schema, REMOVE_BG)["properties"]
    assert {"mask_file_path", "mask_key", "input_key"} <= set(properties)
    assert "mask_file_path" in properties["mask_key"]["description"]
    _, _, client = acme
    put(client)
    put_left_mask(client)
    response = client.post(REMOVE_BG, {"input_key": "p/p.jpg", "mask_key": "p/mask.png",
                                       "output_variants": [{"output_key": "o/m.png"}]}, format="json")
    assert response.json() == {"output_keys": ["o/m.png"]}
    assert fake_store.passes == 0


def test_the_documented_format_default_is_the_one_that_runs(acme, fake_store, schema):  # noqa: F811
    variant = schema["components"]["schemas"]["OutputVariantRequest"]["properties"]["format"]
    assert "default" not in variant
    assert "extension" in variant["description"] and "else png" in variant["description"]
    _, _, client = acme
    put(client)
    response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [
        {"output_file_path": "o/a.webp"}, {"output_file_path": "o/b.out"}]}, format="json")
    assert response.status_code == 200, response.json()
    info = [client.get("/v3/file-ops/info/", {"file_path": p}).json()["content_type"] for p in ("o/a.webp", "o/b.out")]
    assert info == ["image/webp", "image/png"]


def test_the_schema_closes_every_request_body_as_the_server_does(schema):
    requests = {name: c for name, c in schema["components"]["schemas"].items() if name.endswith("Request")}
    assert len(requests) >= 10
    assert all(component.get("additionalProperties") is False for component in requests.values())


def test_the_schema_shows_the_limits_that_run(schema):
    remove_bg = _request_component(schema, REMOVE_BG)["properties"]
    assert (remove_bg["output_variants"]["minItems"], remove_bg["output_variants"]["maxItems"]) == (1, 10)
    assert remove_bg["input_file_path"]["maxLength"] == 512
    token = _request_component(schema, "/v3/auth/access-token/")["properties"]
    assert (token["expires_in"]["minimum"], token["expires_in"]["maximum"], token["expires_in"]["default"]) == (1, 600, 60)
    parameters = schema["paths"]["/v3/file-ops/info/"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in parameters] == [("file_path", True)]
