"""The edge scores of bench/aicut_edges.py on shapes whose answer geometry gives."""
from __future__ import annotations

import numpy as np
import pytest

from vision.aicut_robot import IGNORE
from vision.edge_metrics import band_mae, boundary_band, boundary_f, gradient_error, sad, soft_width


def half_plane(*, edge: int, height: int = 40, width: int = 100) -> np.ndarray:
    """0/255 truth selecting the columns left of `edge`: one straight vertical boundary."""
    truth = np.zeros((height, width), np.uint8)
    truth[:, :edge] = 255
    return truth


def test_band_is_k_columns_each_side_of_a_straight_edge_and_not_the_image_border():
    band = boundary_band(truth=half_plane(edge=50), k=3)
    assert band.all(axis=0)[47:53].all()
    assert not band[:, :47].any() and not band[:, 53:].any()


def test_a_perfect_alpha_scores_zero_and_full_marks():
    truth = half_plane(edge=50)
    alpha = truth / 255.0
    for k in (3, 10):
        assert band_mae(alpha=alpha, truth=truth, k=k) == 0.0
    assert boundary_f(mask=truth, truth=truth) == 1.0
    assert sad(alpha=alpha, truth=truth) == 0.0
    assert gradient_error(alpha=alpha, truth=truth) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("shift, k, expected", [(3, 3, 3 / 6), (3, 10, 3 / 20), (1, 10, 1 / 20), (12, 10, 10 / 20)])
def test_band_mae_of_a_shifted_mask_is_the_share_of_the_band_it_covers(shift, k, expected):
    truth = half_plane(edge=50)
    alpha = half_plane(edge=50 + shift) / 255.0
    assert band_mae(alpha=alpha, truth=truth, k=k) == pytest.approx(expected)
    assert sad(alpha=alpha, truth=truth) == pytest.approx(shift * 40 / 1000)


def test_a_half_alpha_costs_half_everywhere_in_the_band():
    truth = half_plane(edge=50)
    assert band_mae(alpha=np.full(truth.shape, 0.5), truth=truth, k=10) == pytest.approx(0.5)


@pytest.mark.parametrize("shift, expected", [(1, 1.0), (2, 1.0), (3, 0.0), (-3, 0.0)])
def test_boundary_f_matches_within_the_tolerance_only(shift, expected):
    truth = half_plane(edge=50)
    assert boundary_f(mask=half_plane(edge=50 + shift), truth=truth, tolerance=2) == expected


def test_boundary_f_of_an_empty_selection_is_zero():
    truth = half_plane(edge=50)
    assert boundary_f(mask=np.zeros_like(truth), truth=truth) == 0.0


def test_the_unknown_band_is_left_out():
    truth = half_plane(edge=50)
    truth[:, 45:55] = IGNORE
    # Any decision inside the unknown band is exact; the known pixels next to it form the band.
    alpha = half_plane(edge=52) / 255.0
    assert band_mae(alpha=alpha, truth=truth, k=3) == 0.0
    assert boundary_f(mask=half_plane(edge=52), truth=truth) == 1.0
    assert sad(alpha=alpha, truth=truth) == 0.0
    band = boundary_band(truth=truth, k=3)
    assert band.all(axis=0)[42:45].all() and band.all(axis=0)[55:58].all() and not band[:, 45:55].any()
    # A decision that spills past the band onto known background is an error there.
    assert band_mae(alpha=half_plane(edge=57) / 255.0, truth=truth, k=3) == pytest.approx(2 / 6)


def test_a_soft_ramp_costs_gradient_error_that_a_hard_edge_does_not():
    truth = half_plane(edge=50)
    ramp = np.clip((55 - np.arange(100)) / 10.0, 0, 1)[None, :].repeat(40, axis=0)
    assert gradient_error(alpha=ramp, truth=truth) > 0.002
    assert soft_width(alpha=ramp, truth=truth) == 9  # columns 46-54 lie strictly between 0.02 and 0.98
    assert soft_width(alpha=truth / 255.0, truth=truth) == 0
    assert band_mae(alpha=ramp, truth=truth, k=10) == pytest.approx(np.abs(ramp[0, 40:60] - (np.arange(40, 60) < 50)).mean())
