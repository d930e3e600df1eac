"""The standard robot user and the IoU / NoC metrics for click-based segmentation (datasets/README.md)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vision.aicut_types import Point

IGNORE = 128  # ground-truth value of the unknown band, left out of every score


def mask_iou(*, mask: np.ndarray, truth: np.ndarray) -> float:
    """IoU of a binary mask (non-zero = selected) against a 0/128/255 ground truth, 128 ignored."""
    known = truth != IGNORE
    pred = (mask > 0) & known
    gt = (truth > IGNORE) & known
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def _deepest_pixel(region: np.ndarray) -> tuple[int, int, float]:
    # Padding with background makes the image border count as a border, as RITM's robot does.
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y), float(dist[y, x])


def click_next(*, mask: np.ndarray | None, truth: np.ndarray) -> Point | None:
    """The robot's next click: the deepest pixel of the worse error (missed fg → positive, false fg → negative).

    The worse error is the one whose deepest pixel lies farther from its border (the RITM convention);
    with no mask yet the click is the deepest foreground pixel. None when there is nothing left to fix.
    """
    known = truth != IGNORE
    gt = (truth > IGNORE) & known
    if mask is None:
        mask = np.zeros_like(gt)
    pred = mask > 0
    missed = gt & ~pred
    extra = pred & ~gt & known
    fx, fy, fdist = _deepest_pixel(missed)
    bx, by, bdist = _deepest_pixel(extra)
    if max(fdist, bdist) <= 0:
        return None
    if fdist >= bdist:
        return Point(fx, fy, True)
    return Point(bx, by, False)


@dataclass(frozen=True)
class RobotRun:
    """One image driven by the robot: the IoU after each click."""

    ious: tuple[float, ...]

    def clicks_to(self, threshold: float, *, max_clicks: int = 20) -> int:
        """Clicks needed to reach `threshold` IoU; `max_clicks` when never reached."""
        for index, iou in enumerate(self.ious[:max_clicks]):
            if iou >= threshold:
                return index + 1
        return max_clicks


def robot_run(
    *,
    truth: np.ndarray,
    segment: Callable[[Sequence[Point]], np.ndarray],
    max_clicks: int = 20,
    stop_at: float = 0.90,
) -> RobotRun:
    """Drive `segment(points) -> mask` with robot clicks until IoU ≥ `stop_at` or `max_clicks`."""
    points: list[Point] = []
    ious: list[float] = []
    mask = None
    for _ in range(max_clicks):
        point = click_next(mask=mask, truth=truth)
        if point is None:
            break
        points.append(point)
        mask = segment(list(points))
        ious.append(mask_iou(mask=mask, truth=truth))
        if ious[-1] >= stop_at:
            break
    return RobotRun(tuple(ious))


def noc_mean(*, runs: Sequence[RobotRun], threshold: float, max_clicks: int = 20) -> float:
    """Mean number of clicks to reach `threshold` over `runs` (NoC@threshold)."""
    return float(np.mean([run.clicks_to(threshold, max_clicks=max_clicks) for run in runs]))
