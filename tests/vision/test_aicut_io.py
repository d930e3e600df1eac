"""AI Cut's output encoding: the mask a caller thresholds keeps the selection's outline."""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from vision.aicut_io import selection_encode
from vision.segmenter import selection_from_alpha


def test_the_mask_output_thresholds_back_to_the_selection():
    # alpha_from_logits keeps SAM's decision by pinning soft edge values to 128 inside and 127 outside, so a
    # band of pixels sits right at the threshold: JPEG noise of one level moves them (at quality 92, 56 of
    # this small object's 1009 pixels changed sides).
    decision = np.zeros((240, 320), np.uint8)
    cv2.circle(decision, (160, 120), 18, 255, -1)
    soft = cv2.GaussianBlur(decision, (0, 0), 6)
    alpha = np.where(decision > 0, np.maximum(soft, 128), np.minimum(soft, 127)).astype(np.uint8)
    selection = selection_from_alpha(alpha=alpha, confidence=None)
    data = selection_encode(image=np.zeros((240, 320, 3), np.uint8), selection=selection, output_type="mask")
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    flipped = np.count_nonzero((decoded > 127) != (decision > 0))
    assert flipped == 0, f"{flipped} pixels changed sides of the threshold"


def test_a_spot_pinned_at_the_threshold_keeps_every_pixel_on_its_side():
    # A held click's spot (vision/sam_honour.py) where the guided filter's alpha is low: every selected pixel
    # is pinned at 128, next to pixels pinned at 127. Without the gap, quality 100 flipped some of them.
    rng = np.random.default_rng(3)
    decision = rng.random((120, 160)) < 0.5
    alpha = np.where(decision, 128, 127).astype(np.uint8)
    data = selection_encode(image=np.zeros((120, 160, 3), np.uint8),
                            selection=selection_from_alpha(alpha=alpha, confidence=None), output_type="mask")
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert np.array_equal(decoded > 127, decision)
