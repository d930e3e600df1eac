"""Prometheus metrics: requests per route (never per raw path), and who may read /metrics."""
import pytest
from prometheus_client.parser import text_string_to_metric_families


def samples(text: str, name: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.mark.django_db
def test_requests_are_counted_by_route_so_file_names_never_become_labels(client):
    for name in ("a.png", "deep/er/b.png", "c.webp", "d.jpg"):
        client.get(f"/v3/files/{name}")  # 401 without a key: counted all the same
    text = scrape(client)
    routes = {s.labels["route"] for s in samples(text, "bgcut_http_requests_total")}
    assert "v3/files/<path:path>" in routes
    assert not [route for route in routes if ".png" in route or ".jpg" in route or "deep" in route]
    files = [s for s in samples(text, "bgcut_http_requests_total") if s.labels["route"] == "v3/files/<path:path>"]
    assert sum(s.value for s in files) >= 4 and {s.labels["status"] for s in files} >= {"401"}


@pytest.mark.django_db
def test_unknown_urls_and_methods_share_one_label_each(client):
    for n in range(5):
        client.get(f"/no/such/page/{n}")
    client.generic("BREW", "/healthz")
    text = scrape(client)
    routes = {s.labels["route"] for s in samples(text, "bgcut_http_requests_total")}
    methods = {s.labels["method"] for s in samples(text, "bgcut_http_requests_total")}
    assert "<unmatched>" in routes and not [r for r in routes if r.startswith("no/")]
    assert "other" in methods and "BREW" not in methods


def test_latency_is_a_histogram_per_route(client):
    client.get("/healthz")
    buckets = [s for s in samples(scrape(client), "bgcut_http_request_duration_seconds_bucket")
               if s.labels["route"] == "healthz"]
    assert buckets and buckets[-1].labels["le"] == "+Inf" and buckets[-1].value >= 1


def test_metrics_are_refused_to_a_caller_from_another_machine(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403 and "BGCUT_METRICS_TOKEN" in response.json()["detail"]


def test_with_a_token_set_only_its_bearer_may_read_them(client, settings):
    settings.BGCUT_METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics").status_code == 403  # loopback is not enough any more
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert "bgcut_http_requests_total" in scrape(client, REMOTE_ADDR="203.0.113.9",
                                                 HTTP_AUTHORIZATION="Bearer s3cret-scrape")
