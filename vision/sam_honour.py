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

    `points` are in the pixels of an image of `shape` (height, width). A bump never pushes a click of the
    other kind off its side: near one it narrows (`_width_beside`), so an include-click a few pixels from an
    exclude-click holds as well as the exclude does, in whichever order the two come. (The API sends all
    include-clicks before all exclude-clicks, so the order says nothing about which came last.) Only two
    opposite clicks on the same pixel conflict; the later one wins. Each bump touches a window of at most
    6 `sigma` + 1 pixels a side, so the cost is bounded by the number of clicks. The input is left as it is
    when every click already holds; otherwise a corrected copy is returned.
    """
    height, width = logits.shape
    scale_y, scale_x = height / shape[0], width / shape[1]
    pixels = [(min(int((p.y + 0.5) * scale_y), height - 1), min(int((p.x + 0.5) * scale_x), width - 1), p.positive)
              for p in points]
    out = logits
    for row, col, positive in pixels:
        depth = float(out[row, col])  # how far, in logits, SAM left the click's pixel on the wrong side
        if (depth > 0) == positive:
            continue
        wanted = MARGIN + (reach - 1) * abs(depth)
        lift = (wanted - depth) if positive else (-wanted - depth)
        others = [(r, c) for r, c, kind in pixels if kind != positive and (r, c) != (row, col)]
        width_here = _width_beside(out, row=row, col=col, lift=lift, sigma=sigma, others=others)
        if out is logits:
            out = logits.copy()
        radius = int(np.ceil(3 * width_here))
        top, bottom = max(0, row - radius), min(height, row + radius + 1)
        left, right = max(0, col - radius), min(width, col + radius + 1)
        dy = np.arange(top - row, bottom - row, dtype=np.float32)[:, None]
        dx = np.arange(left - col, right - col, dtype=np.float32)[None, :]
        bump = np.exp((dy * dy + dx * dx) * np.float32(-0.5 / (width_here * width_here)))
        out[top:bottom, left:right] += np.float32(lift) * bump
    return out


def _width_beside(logits: np.ndarray, *, row: int, col: int, lift: float, sigma: float,
                  others: Sequence[tuple[int, int]]) -> float:
    """The widest bump up to `sigma` whose `lift` at (`row`, `col`) leaves each of `others` (clicks of the
    other kind, as (row, col)) at least MARGIN on the side it is on now, or 0.01 logit if it is closer."""
    width = sigma
    for other_row, other_col in others:
        distance_sq = float((other_row - row) ** 2 + (other_col - col) ** 2)
        if distance_sq > (3 * width) ** 2:
            continue  # outside the bump's window
        value = float(logits[other_row, other_col])
        room = abs(value) - MARGIN if (value > 0) == (lift < 0) else 0.0  # what the bump may take from it
        room = max(room, 0.01)
        if abs(lift) > room:
            # abs(lift) * exp(-d² / 2w²) <= room
            width = min(width, float(np.sqrt(distance_sq / (2 * np.log(abs(lift) / room)))))
    return width
