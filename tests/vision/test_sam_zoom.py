"""The zoom-in's geometry (vision/sam_zoom.py): crop choice, moving masks between views, pasting back."""
from __future__ import annotations

import numpy as np
import pytest

from vision.sam_zoom import (
    LOW_RES, OUTSIDE_LOGIT, crop_choose, logits_paste, low_res_region, low_res_transfer, reaches_inner_edge,
    view_scale, whole_view, work_region,
)
from vision.segmenter import Box


def test_the_crop_is_a_square_around_the_region_expanded_and_shifted_inside_the_image():
    crop = crop_choose(region=Box(300, 200, 340, 260), shape=(480, 640), expand=2.0, min_side=64)
    assert crop == Box(260, 170, 380, 290)  # side 2 x 60 around the centre (320, 230)
    small = crop_choose(region=Box(300, 200, 310, 210), shape=(480, 640), expand=2.0, min_side=100)
    assert small == Box(255, 155, 355, 255)  # the minimum side, not 20 px
    corner = crop_choose(region=Box(600, 450, 640, 480), shape=(480, 640), expand=3.0, min_side=64)
    assert corner == Box(520, 360, 640, 480)  # shifted inside, not shrunk
    tall = crop_choose(region=Box(10, 0, 30, 300), shape=(480, 640), expand=2.0, min_side=64)
    assert tall == Box(0, 0, 600, 480)  # taller than the image: clipped to its height only


def test_a_mask_moved_into_a_crop_and_back_keeps_its_place_in_the_image():
    whole = whole_view((480, 640))
    scale_x, scale_y = view_scale(whole)
    assert (scale_x, scale_y) == (1.6, pytest.approx(1.6))
    low_res = np.full((1, 1, LOW_RES, LOW_RES), -10.0, np.float32)
    # image pixels x 200..280, y 160..240 are cells 80..112 x 64..96 of the whole view (4 frame px per cell)
    low_res[0, 0, 64:96, 80:112] = 10.0
    assert low_res_region(low_res, view=whole) == Box(200, 160, 280, 240)
    crop = Box(160, 120, 320, 280)  # 160 px: 6.4 frame px per image px, 1.6 image px per cell
    zoomed = low_res_transfer(low_res, source=whole, target=crop)
    assert zoomed.shape == (1, 1, LOW_RES, LOW_RES)
    region = low_res_region(zoomed, view=crop)
    assert abs(region.x1 - 200) <= 2 and abs(region.x2 - 280) <= 2 and abs(region.y1 - 160) <= 2
    back = low_res_transfer(zoomed, source=crop, target=whole)
    assert low_res_region(back, view=whole) == Box(200, 160, 280, 240)
    # What the crop never saw comes back as not selected.
    assert (back[0, 0, :20, :20] == OUTSIDE_LOGIT).all()


def test_a_crops_logits_are_pasted_at_its_place_in_the_work_size_map():
    shape, work = (2000, 3000), (683, 1024)
    crop = Box(1500, 600, 2100, 1200)
    region = work_region(crop, shape=shape, work=work)
    assert region == Box(512, 205, 717, 410)
    view_logits = np.full((region.y2 - region.y1, region.x2 - region.x1), 3.0, np.float32)
    pasted = logits_paste(view_logits, region=region, work=work)
    assert pasted.shape == work and (pasted > 0).sum() == view_logits.size
    assert pasted[300, 600] == 3.0 and pasted[300, 500] == OUTSIDE_LOGIT and pasted[100, 600] == OUTSIDE_LOGIT
    assert work_region(whole_view(shape), shape=shape, work=work) == Box(0, 0, 1024, 683)


def test_a_selection_grows_out_of_a_crop_only_through_a_side_inside_the_image():
    logits = np.full((100, 100), -5.0, np.float32)
    logits[40:60, 40:60] = 5.0
    assert not reaches_inner_edge(logits, view=Box(100, 100, 200, 200), shape=(480, 640))
    logits[40:60, 90:] = 5.0  # reaches the right side
    assert reaches_inner_edge(logits, view=Box(100, 100, 200, 200), shape=(480, 640))
    assert not reaches_inner_edge(logits, view=Box(540, 100, 640, 200), shape=(480, 640)), "the image's own edge"
