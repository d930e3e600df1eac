"""Clicks that hold (vision/sam_honour.py), on made-up logits: where the outline moves, and how far."""
from __future__ import annotations

import numpy as np

from vision.aicut_types import Point
from vision.sam_honour import MARGIN, clicks_honour

SIGMA = 4.0


def ramp(height: int = 120, width: int = 120, edge: int = 50) -> np.ndarray:
    """SAM-like logits near an edge: selected left of column `edge`, 0.5 logit a pixel either way."""
    return np.tile((edge - 0.5 - np.arange(width, dtype=np.float32)) * 0.5, (height, 1))


def boundary(row: np.ndarray) -> int:
    """The first column of a row that is not selected (the row's selection starts at column 0)."""
    return int(np.argmin(row > 0))


def test_an_include_click_beyond_the_edge_moves_the_edge_past_it_and_only_nearby():
    logits = ramp()
    click = Point(54, 60, True)  # 4.5 px beyond the edge: logit -2.25
    held = clicks_honour(logits=logits, points=[click], shape=logits.shape, sigma=SIGMA, reach=2.0)
    assert held[60, 54] >= MARGIN + 2.25 - 1e-4, "the click's pixel sits as deep inside as it lay outside"
    assert 57 <= boundary(held[60]) <= 60, "the edge moves about as far again past the click"
    assert np.all(held[60, :boundary(held[60])] > 0), "the bulge joins the selection: no hole, no island"
    far = np.r_[0:60 - 13, 60 + 13:120]
    assert np.array_equal(held[far], logits[far]), "rows beyond 3 sigma are untouched"
    assert logits[60, 54] == np.float32(-2.25), "the decoder's own logits are left as they were"


def test_an_exclude_click_inside_the_edge_pulls_the_edge_back_past_it():
    logits = ramp()
    held = clicks_honour(logits=logits, points=[Point(46, 60, False)], shape=logits.shape, sigma=SIGMA, reach=2.0)
    assert held[60, 46] <= -MARGIN
    assert 42 <= boundary(held[60]) <= 45, "the edge moves back past the click"
    assert boundary(held[0]) == 50


def test_clicks_that_already_hold_leave_the_answer_as_it_is():
    logits = ramp()
    points = [Point(10, 10, True), Point(100, 100, False)]
    assert clicks_honour(logits=logits, points=points, shape=logits.shape, sigma=SIGMA, reach=2.0) is logits


def test_where_sam_is_sure_only_a_spot_round_the_click_flips():
    logits = np.full((200, 200), -15.0, np.float32)
    logits[:, :40] = 15.0
    held = clicks_honour(logits=logits, points=[Point(150, 100, True)], shape=logits.shape, sigma=SIGMA,
                         reach=2.0)
    spot = held[:, 40:] > 0
    assert spot[100, 110]
    # A bump twice the depth flips where it is over half its height: within sigma * sqrt(2 ln 2) of the click.
    assert np.count_nonzero(spot) <= np.pi * (1.2 * SIGMA) ** 2


def test_clicks_are_held_in_the_image_pixels_they_were_given_at_any_work_size():
    logits = ramp(height=60, width=60, edge=25)  # the work size is half the image's
    held = clicks_honour(logits=logits, points=[Point(54, 60, True)], shape=(120, 120), sigma=SIGMA / 2,
                         reach=2.0)
    assert held[30, 27] > 0 and logits[30, 27] < 0


def test_two_opposite_clicks_within_one_bump_both_hold_in_either_order():
    # The API sends every include-click before every exclude-click: the order cannot say which came last.
    logits = ramp()
    include, exclude = Point(53, 60, True), Point(56, 60, False)
    for points in ([include, exclude], [exclude, include]):
        held = clicks_honour(logits=logits, points=points, shape=logits.shape, sigma=SIGMA, reach=2.0)
        assert held[60, 53] > 0 and held[60, 56] < 0


def test_a_bump_never_pushes_a_held_click_of_the_other_kind_off_its_side():
    logits = ramp()
    exclude = Point(57, 60, False)  # held by SAM, 7.5 px beyond the edge: logit -3.75
    held = clicks_honour(logits=logits, points=[Point(53, 60, True), exclude], shape=logits.shape, sigma=SIGMA,
                         reach=3.0)
    assert held[60, 53] > 0 and held[60, 57] <= -MARGIN + 1e-4, "it keeps its margin"


def test_two_opposite_clicks_on_one_pixel_the_later_wins():
    logits = ramp()
    include, exclude = Point(53, 60, True), Point(53, 60, False)
    assert clicks_honour(logits=logits, points=[include, exclude], shape=logits.shape, sigma=SIGMA,
                         reach=2.0)[60, 53] < 0
    assert clicks_honour(logits=logits, points=[exclude, include], shape=logits.shape, sigma=SIGMA,
                         reach=2.0)[60, 53] > 0
