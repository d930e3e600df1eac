"""Where AI Cut's model outputs are shared: nowhere with a per-process cache, in Django's cache otherwise,
and a shared cache that fails costs a click its speed, never its answer."""
from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from engine import inference
from tests.engine.test_metrics import values
from tests.engine.test_tools import AI_CUT, put
from vision.aicut_cache import ByteLRU
from vision.aicut_shared import SharedTier, SharedTierCache

pytestmark = pytest.mark.django_db

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def test_a_per_process_cache_shares_nothing_and_keeps_the_plain_cache(settings):
    settings.CACHES = {"default": LOCMEM}
    assert inference.aicut_shared_tier() is None
    settings.BGCUT_AICUT_SEGMENTER = "prior"
    inference.aicut.cache_clear()
    assert type(inference.aicut().cache) is ByteLRU


@pytest.fixture
def redis_configured(settings):
    """CACHES on Redis while the test runs (building the tier connects to nothing); back before the
    per-test cache.clear(), which would otherwise need a Redis server."""
    per_process = settings.CACHES
    settings.CACHES = REDIS
    yield
    settings.CACHES = per_process


@pytest.mark.parametrize("segmenter", ["prior", "auto"])
def test_a_shared_cache_holds_the_model_outputs_for_as_long_as_a_file_lives(settings, redis_configured, segmenter):
    settings.BGCUT_FILE_TTL_HOURS = 2.0
    settings.BGCUT_AICUT_SEGMENTER = segmenter
    inference.aicut.cache_clear()
    cache = inference.aicut().cache
    assert isinstance(cache, SharedTierCache) and isinstance(cache.shared, RedisCache)
    assert cache.ttl_seconds == 7200


def test_the_model_outputs_may_have_a_cache_of_their_own(settings, redis_configured):
    settings.CACHES = {"default": LOCMEM, "aicut": REDIS["default"]}
    tier = inference.aicut_shared_tier()
    assert tier is not None and tier.store is caches["aicut"]
    settings.CACHES = {**REDIS, "aicut": LOCMEM}
    assert inference.aicut_shared_tier() is None  # its own cache is per process: nothing to share through


@pytest.mark.model
def test_ai_cut_answers_while_the_shared_cache_is_down_and_counts_the_errors(acme, u2netp_everywhere, client,
                                                                           settings, monkeypatch):
    _, _, api = acme
    settings.BGCUT_AICUT_SEGMENTER = "prior"
    down = SharedTier(store=RedisCache("redis://127.0.0.1:1/0", {}), ttl_seconds=60)  # nothing listens on port 1
    monkeypatch.setattr(inference, "aicut_shared_tier", lambda: down)
    inference.aicut.cache_clear()
    put(api)
    before = values(client)
    body = {"input_file_path": "p/p.jpg", "output_file_path": "p/seg.jpg", "foreground_points": [{"x": 160, "y": 120}]}
    assert api.post(AI_CUT, body, format="json").status_code == 200
    body["background_points"] = [{"x": 5, "y": 5}]
    assert api.post(AI_CUT, body, format="json").status_code == 200
    after = values(client)
    errors = after["bgcut_aicut_shared_cache_errors_total"] - before.get("bgcut_aicut_shared_cache_errors_total", 0)
    assert errors == 3  # the prior's read, claim and write; the second click found it in the process
    assert after["bgcut_aicut_cache_hits_total"] > before.get("bgcut_aicut_cache_hits_total", 0)


def test_two_nodes_on_a_real_redis_embed_a_photo_asked_for_at_once_only_once():
    from uuid import uuid4

    import numpy as np

    from tests.threads import threads_at_once
    from tests.vision.test_aicut_shared import SlowComputations, embedding
    from vision.aicut_shared import aicut_cache_build

    redis = RedisCache(REDIS["default"]["LOCATION"], {})
    nodes = [aicut_cache_build(max_bytes=2**24, shared=SharedTier(store=redis, ttl_seconds=60),
                               shared_kinds=["embedding"]) for _ in range(2)]
    key = ("embedding", "mobilesam", uuid4().hex)  # a photo no other run has stored
    computations = [SlowComputations(embedding()), SlowComputations(embedding())]
    try:
        results, errors = threads_at_once(lambda i: nodes[i].get_or_compute(key, computations[i]), [(0,), (1,)])
        assert not errors and sum(c.count for c in computations) == 1
        assert np.array_equal(results[0], results[1])
        assert sum(node.shared_waits for node in nodes) == 1 and redis.get(f"{nodes[0].shared_key(key)}:computing") is None
    finally:
        redis.delete(nodes[0].shared_key(key))
