"""Edge-sensitive scores of a soft alpha against a 0/128/255 ground truth (bench/aicut_edges.py).

IoU and NoC (vision/aicut_robot.py) look at the binary decision; these look at what happens along the
object's boundary, where a cutout keeps or loses hair and fur:

- band MAE: mean |alpha - truth| over the known pixels within k px of the truth's boundary (both sides),
- boundary F (BF, Csurka et al. 2013): F-measure of the decision's boundary pixels against the truth's,
  a pixel matching when the other boundary passes within a tolerance,
- soft width: how many pixels are neither 0 nor 1 per pixel of the truth's boundary (how wide the
  alpha's transition is: 1 for an anti-aliased hard edge, more for a feathered or blurred one),
- SAD and gradient error (Rhemann et al. 2009, the matting benchmark's): the sum of absolute
  differences, and the summed squared difference of the gradient magnitudes over the band, each / 1000.

Pixels marked IGNORE (GrabCut's unknown band) never count, as in IoU: the band is measured from the
nearest pixel of another value (the other class or the unknown band), and BF fills the unknown band with
the prediction's own decision, so a boundary drawn anywhere inside it is exact.
"""
from __future__ import annotations

import cv2
import numpy as np

from vision.aicut_robot import IGNORE

GRADIENT_SIGMA = 1.4  # the matting benchmark's Gaussian derivative


def _distance_to_zero(region: np.ndarray) -> np.ndarray:
    """For each non-zero pixel the L2 distance to the nearest zero pixel (1 next to it); the image border is no zero."""
    return cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def boundary_band(*, truth: np.ndarray, k: float) -> np.ndarray:
    """Known pixels at most `k` px from a pixel of another value: k pixels on each side of a clean boundary."""
    foreground, background = truth > IGNORE, truth < IGNORE
    inside = np.where(foreground, _distance_to_zero(foreground), 0.0)
    outside = np.where(background, _distance_to_zero(background), 0.0)
    return (foreground & (inside <= k)) | (background & (outside <= k))


def band_mae(*, alpha: np.ndarray, truth: np.ndarray, k: float) -> float:
    """Mean |alpha - truth| (alpha in 0..1) over `boundary_band`; NaN when the truth has no boundary."""
    band = boundary_band(truth=truth, k=k)
    if not band.any():
        return float("nan")
    target = (truth[band] > IGNORE).astype(np.float32)
    return float(np.mean(np.abs(alpha[band].astype(np.float32) - target)))


def _boundary(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels with a 4-neighbour outside it (the image border does not count)."""
    mask = mask.astype(np.uint8)
    eroded = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    return (mask > 0) & (eroded == 0)


def boundary_f(*, mask: np.ndarray, truth: np.ndarray, tolerance: float = 2.0) -> float:
    """BF score of a binary `mask` (non-zero selected): 1 when every boundary pixel of each lies within
    `tolerance` px of the other's boundary, both empty included; 0 when exactly one has no boundary."""
    selected = mask > 0
    filled = np.where(truth == IGNORE, selected, truth > IGNORE)
    predicted, expected = _boundary(selected), _boundary(filled)
    if not predicted.any() and not expected.any():
        return 1.0
    if not predicted.any() or not expected.any():
        return 0.0
    near_expected = _distance_to_zero(~expected) <= tolerance
    near_predicted = _distance_to_zero(~predicted) <= tolerance
    precision = np.count_nonzero(predicted & near_expected) / np.count_nonzero(predicted)
    recall = np.count_nonzero(expected & near_predicted) / np.count_nonzero(expected)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def soft_width(*, alpha: np.ndarray, truth: np.ndarray, margin: float = 0.02) -> float:
    """Known pixels with `margin` < alpha < 1 - `margin`, per foreground pixel on the truth's boundary (next to
    background or the unknown band); NaN without one."""
    length = np.count_nonzero(_boundary(truth > IGNORE))
    if not length:
        return float("nan")
    soft = (alpha > margin) & (alpha < 1.0 - margin) & (truth != IGNORE)
    return float(np.count_nonzero(soft) / length)


def sad(*, alpha: np.ndarray, truth: np.ndarray) -> float:
    """Sum of |alpha - truth| over the known pixels, / 1000."""
    known = truth != IGNORE
    target = (truth[known] > IGNORE).astype(np.float32)
    return float(np.sum(np.abs(alpha[known].astype(np.float32) - target)) / 1000.0)


def _gradient_magnitude(values: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(values.astype(np.float32), (0, 0), GRADIENT_SIGMA)
    dy, dx = np.gradient(smooth)
    return np.hypot(dx, dy)


def gradient_error(*, alpha: np.ndarray, truth: np.ndarray, k: float = 10) -> float:
    """Sum over `boundary_band(k)` of (|grad alpha| - |grad truth|)^2, gradients of the Gaussian-smoothed
    maps (sigma 1.4, alpha in 0..1), / 1000. The unknown band's truth is taken as 0.5 for the gradient only."""
    band = boundary_band(truth=truth, k=k)
    target = np.where(truth == IGNORE, 0.5, truth > IGNORE).astype(np.float32)
    difference = _gradient_magnitude(alpha) - _gradient_magnitude(target)
    return float(np.sum(difference[band] ** 2) / 1000.0)
