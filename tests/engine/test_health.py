"""/healthz answers while the process is up; /readyz checks the database, cache, storage and models."""
import pytest


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_check_when_all_pass(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "storage": "ok",
                                                          "models": "ok"}}


@pytest.mark.django_db
def test_readyz_names_the_cache_when_it_is_unreachable(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    monkeypatch.setattr("engine.health.cache", RedisCache("redis://127.0.0.1:1/0", {}))  # nothing on port 1
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    body = response.json()
    assert "cache" in body["detail"] and body["checks"]["cache"].startswith("failed")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_names_storage_when_the_root_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.BGCUT_STORAGE_ROOT = blocker / "storage"  # cannot exist: its parent is a file
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert "storage" in body["detail"] and body["checks"]["storage"].startswith("failed")
    assert [name for name, result in body["checks"].items() if result != "ok"] == ["storage"]


@pytest.mark.django_db
def test_readyz_names_the_models_when_a_file_is_missing(client, settings, tmp_path):
    from engine import inference

    settings.BGCUT_MODELS_DIR = tmp_path  # empty: every model is missing
    inference.model_store.cache_clear()
    try:
        response = client.get("/readyz")
    finally:
        inference.model_store.cache_clear()
    assert response.status_code == 503
    assert response.json()["detail"].startswith("Not ready: the models check failed")
