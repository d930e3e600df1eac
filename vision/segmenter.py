"""The one interface AI Cut's engine calls: prompts (clicks, an optional box) in, a Selection out.

Two implementations: `SamSegmenter` (vision/sam.py: a point-promptable model decides the object) and
`PriorSegmenter` below (the salient-prior pipeline of vision/aicut.py, for deployments without SAM files).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from vision.aicut import AICut
from vision.aicut_types import Point

# A selection smaller than this is "nothing selected": a speck left where a click hit no object, or
# exclude-clicks removed everything. At least 16 pixels, 2e-6 of the image (24 px of a 12 MP photo): COCO-dev
# has a real object of 27 pixels (a car far away), which a larger bound would have called empty.
EMPTY_FRACTION = 2e-6
EMPTY_MIN_PIXELS = 16
# A hover preview is a hint drawn over the photo, not a cutout: this many pixels on its long side suffice.
PREVIEW_SIDE = 512


@dataclass(frozen=True)
class Box:
    """A box prompt in image pixels: (x1, y1) the top-left corner, (x2, y2) the bottom-right, exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True, eq=False)
class Selection:
    """What a segmenter answers: a soft alpha, the selected area's box, the model's confidence."""

    alpha: np.ndarray  # uint8 HxW at the image's size: 255 selected, 0 not, soft values along edges
    box: Box | None  # bounding box of the pixels with alpha > 127; None when the selection is empty
    confidence: float | None  # the model's own estimate of the selection's IoU (0..1); None when it has none

    @property
    def empty(self) -> bool:
        return self.box is None


class Segmenter(Protocol):
    """Per-image work once (`prepare`), then one cheap `segment` per click."""

    name: str

    def prepare(self, *, image: np.ndarray, image_key: str) -> None:
        """Compute and cache what does not depend on the prompts (e.g. the image embedding)."""

    def segment(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None
    ) -> Selection:
        """The selection for all `points` so far (and `box`) on RGB uint8 `image`."""


@runtime_checkable
class PreviewSegmenter(Segmenter, Protocol):
    """A segmenter whose per-click work is cheap once the image is prepared, so it can preview a click."""

    def prepared(self, *, image_key: str) -> bool:
        """Whether the per-image work for `image_key` is done (cached), so a preview can answer."""

    def preview(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None
    ) -> np.ndarray | None:
        """What `segment` would select, as a uint8 0/255 mask whose long side is at most PREVIEW_SIDE;
        None when the image is not prepared (a preview never does the per-image work)."""


def alpha_is_empty(alpha: np.ndarray) -> bool:
    """True when an alpha (uint8 0..255 or float 0..1) selects fewer than the minimum pixels for a selection."""
    half = 127 if alpha.dtype == np.uint8 else 0.5
    return int(np.count_nonzero(alpha > half)) < max(EMPTY_MIN_PIXELS, EMPTY_FRACTION * alpha.size)


def selection_from_alpha(*, alpha: np.ndarray, confidence: float | None) -> Selection:
    """A Selection around `alpha` (uint8), empty when fewer than the minimum pixels are selected."""
    if alpha_is_empty(alpha):
        return Selection(alpha=np.zeros_like(alpha), box=None, confidence=confidence)
    selected = alpha > 127
    x, y, width, height = cv2.boundingRect(selected.view(np.uint8))
    return Selection(alpha=alpha, box=Box(x, y, x + width, y + height), confidence=confidence)


class PriorSegmenter:
    """The salient-prior pipeline (vision/aicut.py) behind the Segmenter interface: no SAM files needed.

    It has no notion of a box, so a box adds an include-click at its centre (when there are no
    include-clicks) and clips the selection to it. It has no confidence estimate either, and no preview:
    its per-click work (the prior, GrabCut, focus views) is not cheap enough to run on every hover.
    """

    name = "prior"

    def __init__(self, *, aicut: AICut):
        self.aicut = aicut
        self.cache = aicut.cache  # the per-image cache, as on every segmenter (its counters are metrics)

    def prepare(self, *, image: np.ndarray, image_key: str) -> None:
        """The prior is computed by the first click anyway; nothing to do ahead of it."""

    def segment(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None
    ) -> Selection:
        points = list(points)
        if box is not None and not any(p.positive for p in points):
            points.insert(0, Point((box.x1 + box.x2 - 1) // 2, (box.y1 + box.y2 - 1) // 2, True))
        mask = self.aicut.segment(image=image, image_key=image_key, points=points)
        if box is not None:
            clipped = np.zeros_like(mask)
            clipped[box.y1:box.y2, box.x1:box.x2] = mask[box.y1:box.y2, box.x1:box.x2]
            mask = clipped
        return selection_from_alpha(alpha=mask, confidence=None)
