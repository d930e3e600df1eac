"""Two processes sharing AI Cut's model outputs, with the real models: the second one never runs an
encoder and answers each click as the first one would have."""
from __future__ import annotations

import numpy as np
import pytest

from tests.vision.test_aicut_sam import REPO, sam_model_available, scene
from tests.vision.test_aicut_shared import FakeStore
from vision.aicut import AICut, AICutTuning
from vision.aicut_shared import SharedTier
from vision.aicut_types import Point
from vision.models import ModelStore
from vision.sam import SamSegmenter

pytestmark = pytest.mark.model

CLICKS = (Point(230, 260, True), Point(425, 265, True), Point(490, 180, False), Point(200, 300, True))


class CountingModelStore(ModelStore):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passes = 0

    def predict(self, name, image):
        self.passes += 1
        return super().predict(name, image)


@pytest.fixture(scope="module")
def sam_model():
    return sam_model_available()


def test_refinement_clicks_on_another_process_run_no_encoder_and_refine_the_same_mask(sam_model, monkeypatch):
    image, _, _ = scene()
    shared = SharedTier(store=FakeStore(), ttl_seconds=7200)
    node_a, node_b = (SamSegmenter(model=sam_model, shared=shared) for _ in range(2))
    reference = SamSegmenter(model=sam_model, shared=shared)  # node A again, to say what A would have given
    fed = []
    decode = sam_model.decode
    monkeypatch.setattr(sam_model, "decode", lambda **kw: fed.append(kw["mask_input"] is not None) or decode(**kw))
    node_a.segment(image=image, image_key="img", points=CLICKS[:1])
    reference.segment(image=image, image_key="img", points=CLICKS[:1])
    encoder_passes = sam_model.encoder_passes
    for count in range(2, len(CLICKS) + 1):
        on_b = node_b.segment(image=image, image_key="img", points=CLICKS[:count])
        on_a = reference.segment(image=image, image_key="img", points=CLICKS[:count])
        assert np.array_equal(on_b.alpha, on_a.alpha) and on_b.confidence == on_a.confidence
    assert sam_model.encoder_passes == encoder_passes, "node B found the embedding instead of computing it"
    assert fed == [False, False] + [True] * 2 * (len(CLICKS) - 1), "every refinement was fed the previous mask"
    assert node_b.cache.shared_hits >= 2 and node_b.cache.misses == 0


def test_half_precision_sharing_keeps_the_selection_of_a_process_alone(sam_model):
    image, _, _ = scene()
    alone = SamSegmenter(model=sam_model)
    shared = SamSegmenter(model=sam_model, shared=SharedTier(store=FakeStore(), ttl_seconds=60))
    for count in range(1, len(CLICKS) + 1):
        a = alone.segment(image=image, image_key="img", points=CLICKS[:count]).alpha > 127
        b = shared.segment(image=image, image_key="img", points=CLICKS[:count]).alpha > 127
        assert np.count_nonzero(a != b) <= 0.001 * a.size


def test_the_salient_prior_and_focus_views_are_shared_by_the_fallback_pipeline():
    image, _, _ = scene()
    store = FakeStore()
    models = CountingModelStore(REPO / "models", threads=1)
    node_a, node_b = (AICut(store=models, prior_model="u2netp", tuning=AICutTuning(), shared=SharedTier(
        store=store, ttl_seconds=7200)) for _ in range(2))
    # A click on the background, which the prior calls not salient, gets a focus view besides the prior.
    points = [Point(600, 20, True), Point(425, 265, False)]
    first = node_a.segment(image=image, image_key="img", points=points[:1])
    passes = models.passes
    assert passes == 2 and sorted(key.split(":")[2] for key in store.values) == ["focus", "prior"]
    assert np.array_equal(node_b.segment(image=image, image_key="img", points=points[:1]), first)
    assert np.array_equal(node_b.segment(image=image, image_key="img", points=points),
                          node_a.segment(image=image, image_key="img", points=points))
    assert models.passes == passes, "node B ran no salient model"
