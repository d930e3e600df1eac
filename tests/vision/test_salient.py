"""Quality plans, fusion and edge refinement, with tiny graphs (and u2netp when it is there)."""
from __future__ import annotations

import hashlib
import json
import tracemalloc

import numpy as np
import pytest

from tests.vision.test_models import REPO, disc_on_grey, red_ramp, tiny_model
from vision import salient
from vision.models import ModelSpec, ModelStore
from vision.salient import QualityPlan, QualityPlans, alpha_guided_refine, alpha_predict, map_contrast


@pytest.fixture
def two_model_store(tmp_path):
    """Two tiny graphs of different input sizes, standing in for ISNet (big) and u2netp (small)."""
    specs = {}
    for name, size in (("big", 16), ("small", 8)):
        data = tiny_model(tmp_path / f"{name}.onnx", size=size)
        specs[name] = ModelSpec(name=name, file_name=f"{name}.onnx", sha256=hashlib.sha256(data).hexdigest(),
                                input_size=(size, size), input_name="input")
    store = ModelStore(tmp_path, threads=1, specs=specs)
    passes = []
    original = store.run
    store.run = lambda name, batch: passes.append(name) or original(name, batch)
    store.passes = passes
    return store


TWO_MODEL_PLANS = QualityPlans(
    low=QualityPlan(models=("small",)),
    medium=QualityPlan(models=("big",)),
    high=QualityPlan(models=("big", "small"), weights=(0.6, 0.4), fuse_size=16, refine_radius=2),
)


@pytest.mark.parametrize("quality, expected", [
    ("low", ["small"]), ("medium", ["big"]), ("high", ["big", "small"]),
])
def test_it_runs_each_model_of_the_plan_exactly_once(two_model_store, quality, expected):
    alpha = alpha_predict(image=red_ramp(), quality=quality, store=two_model_store, plan=TWO_MODEL_PLANS)
    assert two_model_store.passes == expected
    assert alpha.shape == (30, 50) and alpha.dtype == np.float32
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0


def test_a_single_plan_can_be_passed_instead_of_the_mapping(two_model_store):
    alpha_predict(image=red_ramp(), quality="ignored", store=two_model_store, plan=QualityPlan(models=("small",)))
    assert two_model_store.passes == ["small"]


def test_it_rejects_an_unknown_quality_level(two_model_store):
    with pytest.raises(ValueError, match="quality must be one of low, medium, high"):
        alpha_predict(image=red_ramp(), quality="ultra", store=two_model_store, plan=TWO_MODEL_PLANS)
    assert two_model_store.passes == []


def test_settings_json_can_map_every_level_to_u2netp():
    levels = ("low", "medium", "high")
    plans = QualityPlans.from_settings(json.dumps({level: {"models": ["u2netp"]} for level in levels}))
    assert plans == QualityPlans.single_model("u2netp")
    assert plans.model_names() == {"u2netp"}


def test_settings_replace_only_the_levels_they_name():
    plans = QualityPlans.from_settings({"high": {"models": ["birefnet"], "refine_radius": 4}})
    assert plans.high == QualityPlan(models=("birefnet",), refine_radius=4)
    assert plans.low == QualityPlans().low and plans.medium == QualityPlans().medium
    assert QualityPlans.from_settings("") == QualityPlans()


@pytest.mark.parametrize("data, message", [
    ({"ultra": {"models": ["u2netp"]}}, "unknown level"),
    ({"high": {"models": ["u2netp"], "weigths": [1]}}, "unknown key"),
    ({"high": {"models": []}}, "at least one model"),
    ({"high": {"models": ["a", "b"], "weights": [1]}}, "one non-negative value per model"),
    ({"high": {"models": ["a"], "contrast": 0}}, "contrast"),
    ({"high": {"models": ["a"], "fusion": "max"}}, "fusion"),
])
def test_it_rejects_a_malformed_plan(data, message):
    with pytest.raises(ValueError, match=message):
        QualityPlans.from_settings(data)


def test_mean_fusion_is_the_weighted_mean_of_the_maps():
    big = np.zeros((16, 16), np.float32)
    small = np.ones((8, 8), np.float32)
    fused = salient.maps_fuse(maps=[big, small], weights=(3.0, 1.0), size=16, fusion="mean")
    assert fused.shape == (16, 16) and np.allclose(fused, 0.25)


def test_logit_fusion_averages_log_odds_so_agreement_counts_more_than_in_a_plain_mean():
    sure = np.full((8, 8), 0.9, np.float32)
    unsure = np.full((8, 8), 0.5, np.float32)
    doubtful = np.full((8, 8), 0.2, np.float32)
    assert np.allclose(salient.maps_fuse(maps=[sure, unsure], weights=(), size=8), 0.75)  # sqrt-odds 3 -> 0.75
    assert np.allclose(salient.maps_fuse(maps=[sure, doubtful], weights=(1.0, 1.0), size=8), 0.6)  # odds 1.5
    # A model that is certain (0 or 1) is clipped, so it cannot veto the other outright.
    zero, one = np.zeros((8, 8), np.float32), np.ones((8, 8), np.float32)
    assert np.allclose(salient.maps_fuse(maps=[zero, one], weights=(), size=8), 0.5)


def test_the_contrast_curve_keeps_its_ends_and_middle_and_sharpens_between():
    prob = np.array([0.0, 0.25, 0.5, 0.75, 1.0], np.float32)
    out = map_contrast(prob=prob, gain=2.0)
    assert out[[0, 2, 4]] == pytest.approx([0.0, 0.5, 1.0], abs=1e-6)
    assert out[1] == pytest.approx(0.1) and out[3] == pytest.approx(0.9)  # odds 1:3 -> 1:9
    assert map_contrast(prob=prob, gain=1.0) is prob


def step_image(height=64, width=96):
    """Dark left half, bright right half: the true edge is at column width/2."""
    image = np.full((height, width, 3), 30, np.uint8)
    image[:, width // 2:] = 220
    return image


def test_guided_refinement_smooths_noise_but_keeps_the_edge_where_the_image_has_it():
    image = step_image()
    truth = np.zeros(image.shape[:2], np.float32)
    truth[:, 48:] = 1.0
    noisy = truth + np.random.default_rng(0).normal(0, 0.2, truth.shape).astype(np.float32)
    refined = alpha_guided_refine(image=image, prob=noisy, radius=4, eps=1e-3, side=1536)
    assert np.abs(refined - truth).mean() < 0.5 * np.abs(noisy - truth).mean()
    assert refined[:, 47].max() < 0.5 < refined[:, 48].min()


def test_refinement_in_strips_equals_the_whole_image_result(monkeypatch):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (301, 203, 3), dtype=np.uint8)
    prob = rng.random((64, 64), dtype=np.float32)
    whole = alpha_guided_refine(image=image, prob=prob, radius=3, eps=1e-3, side=100)
    monkeypatch.setattr(salient, "STRIP_PIXELS", 7 * 203)
    strips = alpha_guided_refine(image=image, prob=prob, radius=3, eps=1e-3, side=100)
    assert np.array_equal(whole, strips)
    assert whole.shape == (301, 203) and whole.dtype == np.float32


def test_a_large_image_never_holds_several_full_size_float_copies(two_model_store):
    image = np.zeros((2000, 3000, 3), np.uint8)
    image[500:1500, 1000:2000, 0] = 255
    full_float = 2000 * 3000 * 4
    # Small fusion and refinement sizes keep their (image-size independent) arrays out of this measurement.
    plan = QualityPlan(models=("big", "small"), fuse_size=64, refine_radius=2, refine_side=256)
    tracemalloc.start()
    try:
        alpha = alpha_predict(image=image, quality="high", store=two_model_store, plan=plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The output itself, the grey guide (1 byte a pixel) and strips: well under two float copies.
    assert peak < 1.6 * full_float
    assert alpha.shape == (2000, 3000)


@pytest.mark.model
@pytest.mark.skipif(not (REPO / "models" / "u2netp.onnx").is_file(),
                    reason="models/u2netp.onnx is absent: run `make models` (make test does it)")
def test_every_level_mapped_to_the_real_u2netp_cuts_out_a_disc():
    store = ModelStore(REPO / "models", threads=2)
    plans = QualityPlans.from_settings({
        "low": {"models": ["u2netp"]},
        "medium": {"models": ["u2netp"], "contrast": 2.0},
        "high": {"models": ["u2netp"], "refine_radius": 4},
    })
    image, inside = disc_on_grey()
    for quality in ("low", "medium", "high"):
        alpha = alpha_predict(image=image, quality=quality, store=store, plan=plans)
        iou = np.logical_and(alpha > 0.5, inside).sum() / np.logical_or(alpha > 0.5, inside).sum()
        assert iou > 0.9, quality
