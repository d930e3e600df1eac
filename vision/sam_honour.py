"""Clicks that hold: SAM's boundary moves locally so that each click's own pixel ends on the side it asks for.

SAM answers on a grid of 256 × 256 cells. A click in the strip between SAM's edge and the object's real
edge, a few pixels and less than one cell wide, often leaves its own pixel as it was: the decoder cannot
place an edge finer than its cells, and, fed its own previous mask, it tends to give the same answer again.
On COCO-dev a third of the robot's refinement clicks changed nothing where they landed, and it clicked the
same pixels again and again (docs/BENCHMARKS.md). A person sees the same thing: a click that does nothing.

So after the decoder, each click whose pixel SAM leaves on the wrong side raises (include) or lowers
(exclude) the logits around it by a Gaussian bump, `sigma` pixels wide. The bump is as high as it takes
to carry the click's pixel `reach` times its own depth past the boundary, on the logit scale. A click marks
about the middle of what the user wants added or removed, so the edge should move past the click by about
as far again as the click lay beyond it: reach 2, on logits that grow evenly with the distance from the
edge. The bump falls off along the edge, though, so a strip is filled less away from the click; reach 3
(SamTuning's default) did better than 2 at every bump width measured on COCO-dev (docs/BENCHMARKS.md).

Because the bump is added to SAM's logits, the logits decide the new outline:
- Where SAM is unsure (logits near 0, along its edge), the outline bulges out along SAM's own contours.
  This fills the strip near the click, and the regions SAM keeps apart stay apart.
- Where SAM is sure, a bump of the same rule flips only a spot round the click, about one `sigma` across.
  That spot is no disk stamped on the selection: SAM's regions are still SAM's decision.

The bump only changes the answer's logits. The low-resolution mask fed back to the next click stays the
decoder's own, so every request applies this afresh to all its clicks, and the result depends only on
the points.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vision.aicut_types import Point

MARGIN = 0.5  # logit a held click's pixel gets at least: clear of the 0 boundary, as a click SAM followed


def clicks_honour(
    *, logits: np.ndarray, points: Sequence[Point], shape: tuple[int, int], sigma: float, reach: float
) -> np.ndarray:
    """`logits` (float32 at work size, > 0 selected) with every click of `points` on the side it asks for.

    `points` are in the pixels of an image of `shape` (height, width). The clicks are applied in order, so
    where two opposite clicks lie within one bump of each other, the later one wins. Each bump touches only
    a window of 6 `sigma` + 1 pixels a side, so the cost is bounded by the number of clicks. The input is
    left as it is when every click already holds; otherwise a corrected copy is returned.
    """
    height, width = logits.shape
    scale_y, scale_x = height / shape[0], width / shape[1]
    radius = int(np.ceil(3 * sigma))
    out = logits
    for point in points:
        row = min(int((point.y + 0.5) * scale_y), height - 1)
        col = min(int((point.x + 0.5) * scale_x), width - 1)
        depth = float(out[row, col])  # how far, in logits, SAM left the click's pixel on the wrong side
        if (depth > 0) == point.positive:
            continue
        wanted = MARGIN + (reach - 1) * abs(depth)
        lift = (wanted - depth) if point.positive else (-wanted - depth)
        if out is logits:
            out = logits.copy()
        top, bottom = max(0, row - radius), min(height, row + radius + 1)
        left, right = max(0, col - radius), min(width, col + radius + 1)
        dy = np.arange(top - row, bottom - row, dtype=np.float32)[:, None]
        dx = np.arange(left - col, right - col, dtype=np.float32)[None, :]
        bump = np.exp((dy * dy + dx * dx) * np.float32(-0.5 / (sigma * sigma)))
        out[top:bottom, left:right] += np.float32(lift) * bump
    return out
