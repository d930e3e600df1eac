"""AI Cut's work is bounded by its input: GrabCut only when colour decides, few focus views, a deadline that stops it."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tests.vision.test_aicut import REPO, FakeStore, disk_prior, scene
from vision import aicut
from vision.aicut import AICut, AICutTuning, Point, grabcut_bounded, logits_upsample_threshold
from vision.aicut_colour import colour_models_decide
from vision.deadline import DeadlineExceeded, deadline_check, deadline_scope


def half_mask(side: int) -> np.ndarray:
    """Left half probably foreground, a definite click disk on each side: what GrabCut starts from."""
    mask = np.full((side, side), cv2.GC_PR_BGD, np.uint8)
    mask[:, : side // 2] = cv2.GC_PR_FGD
    cv2.circle(mask, (side // 4, side // 2), 3, cv2.GC_FGD, -1)
    cv2.circle(mask, (3 * side // 4, side // 2), 3, cv2.GC_BGD, -1)
    return mask


def flat(side: int) -> np.ndarray:
    return np.full((side, side, 3), 128, np.uint8)


def two_tone_noise(side: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.where(rng.random((side, side, 1)) < 0.5, 0, 255).astype(np.uint8).repeat(3, axis=2)


def uniform_noise(side: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)


def models_for(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(image, mask.copy(), None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
    return fgd, bgd


@pytest.mark.parametrize("make", [flat, two_tone_noise, uniform_noise], ids=["flat", "two-tone", "noise"])
def test_colour_models_that_cannot_tell_the_sides_apart_do_not_decide(make):
    image = make(200)
    fgd, bgd = models_for(image, half_mask(200))
    assert not colour_models_decide(image=image, foreground_model=fgd, background_model=bgd)


def test_colour_models_of_distinct_colours_decide():
    image = flat(200)
    image[:, :100] = (30, 40, 200)
    image += np.random.default_rng(2).integers(0, 6, image.shape, dtype=np.uint8)
    fgd, bgd = models_for(image, half_mask(200))
    assert colour_models_decide(image=image, foreground_model=fgd, background_model=bgd)


@pytest.mark.parametrize("make", [flat, two_tone_noise], ids=["flat", "two-tone"])
def test_grabcut_does_not_cut_a_graph_its_colour_models_cannot_decide(monkeypatch, make):
    # These inputs took OpenCV's GrabCut 28 s (flat, 200 px) and over 100 s (two-tone, 400 px).
    calls = []
    real = cv2.grabCut

    def spy(image, mask, rect, bgd, fgd, iterations, mode):
        calls.append(iterations)
        return real(image, mask, rect, bgd, fgd, iterations, mode)

    monkeypatch.setattr(aicut.cv2, "grabCut", spy)
    mask = half_mask(200)
    start = mask.copy()
    grabcut_bounded(image=make(200), mask=mask, iterations=3)
    assert calls == [0]  # the colour models were built, and no cut ran
    assert np.array_equal(mask, start)


def test_grabcut_still_separates_distinct_colours():
    image = flat(120)
    image[:, :60] = (30, 40, 200)
    mask = np.full((120, 120), cv2.GC_PR_BGD, np.uint8)
    mask[:, :80] = cv2.GC_PR_FGD  # a start that overshoots into the grey
    cv2.circle(mask, (30, 60), 3, cv2.GC_FGD, -1)
    cv2.circle(mask, (100, 60), 3, cv2.GC_BGD, -1)
    grabcut_bounded(image=image, mask=mask, iterations=3)
    selected = (mask & 1).astype(bool)
    assert selected[:, :58].all() and not selected[:, 62:].any()


class CropSeesTheObject(FakeStore):
    """The whole image's map is the fixed one; every focus crop finds its centre salient."""

    def predict(self, name, image):
        if image.shape[:2] == self.probability.shape:
            return super().predict(name, image)
        with self.lock:
            self.shapes.append(image.shape[:2])
        return np.ones(image.shape[:2], np.float32)


def test_a_call_runs_at_most_the_focus_limit_of_new_model_passes():
    image, _, _ = scene()
    prior = np.zeros((120, 160), np.float32)
    prior[50:70, 35:55] = 1.0  # the prior agrees with the first click only
    store = CropSeesTheObject(prior)
    cut = AICut(store=store, tuning=AICutTuning(focus_limit=2, focus_min_side=40, focus_scale=0.25))
    points = [Point(45, 60, True)] + [Point(x, y, True) for x in (10, 150) for y in (10, 110)]
    cut.segment(image=image, image_key="a", points=points)
    assert store.passes == 1 + 2  # the prior, then two focus views; the other clicks wait for later calls
    cut.segment(image=image, image_key="a", points=points)
    assert store.passes == 1 + 4  # cached views cost nothing, two more run


def test_a_spent_budget_stops_ai_cut_before_any_model_pass():
    image, _, _ = scene()
    store = FakeStore(disk_prior())
    with deadline_scope(time.monotonic() - 1), pytest.raises(DeadlineExceeded):
        AICut(store=store).segment(image=image, image_key="a", points=[Point(45, 60, True)])
    assert store.passes == 0


def test_without_a_budget_every_check_passes():
    deadline_check()
    with deadline_scope(time.monotonic() + 60):
        deadline_check()


def test_the_deadline_terminates_a_model_pass_instead_of_waiting_for_it():
    from vision.models import ModelStore, image_to_batch

    if not (REPO / "models" / "u2netp.onnx").exists():
        pytest.skip("models/u2netp.onnx is missing: run `make models`")
    store = ModelStore(REPO / "models", threads=1)
    image = np.random.default_rng(0).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    batch = image_to_batch(image=image, spec=store.spec("u2netp"))
    store.run("u2netp", batch)  # load the session outside the budget; one pass takes ~0.3 s or more
    with deadline_scope(time.monotonic() + 0.1), pytest.raises(DeadlineExceeded, match="stopped at the deadline"):
        store.run("u2netp", batch)
    assert store.infer("u2netp", image).shape == (320, 320)  # the session still works afterwards


def test_the_full_size_threshold_matches_a_float_resize_in_one_byte_a_pixel():
    rng = np.random.default_rng(3)
    logits = cv2.GaussianBlur(rng.normal(0, 3, (64, 80)).astype(np.float32), (9, 9), 3)
    logits = np.where(logits > 0, np.maximum(logits, 0.5), np.minimum(logits, -0.5))
    mask = logits_upsample_threshold(logits=logits, width=400, height=320)
    reference = cv2.resize(logits, (400, 320), interpolation=cv2.INTER_LINEAR) > 0
    assert mask.dtype == bool and mask.shape == (320, 400)
    assert np.mean(mask != reference) < 0.002  # only pixels within a rounding of the boundary
