"""AI Cut: click-driven segmentation from a salient-object prior, geodesic click evidence and focus views.

How one call works (everything that does not depend on the clicks is cached per image_key and model):
1. the prior: the salient model's probability map of the whole image (one model pass per image);
2. focus views: an include-click where the prior says background runs the model again on a crop
   around that click, so an object that is not salient in the whole frame can be salient in the crop;
3. click evidence: geodesic distance from each click over a small Lab image whose edges are colour
   changes and the prior's own edges, so a click claims the similar region around it and stops at edges;
4. trust: while the prior agrees with the first include-click (and with at least as many include-clicks
   as it contradicts) it votes with the clicks; otherwise the user wants something the model calls
   background, and GrabCut on colour, started from the clicks' regions, decides instead;
5. only the regions holding an include-click are kept, and every click gets a disk of its own label.
Steps 1-5 run at work size (1024 px); only the last threshold runs at full size, on upsampled logits.
Every stage is bounded by the work size, not the photo's: at most `focus_limit` new focus views a call,
GrabCut at `colour_side` for `colour_iterations` and only when colour can decide (vision/aicut_colour.py),
and the request's deadline (vision/deadline.py) is checked between stages and stops model passes.
This is AI Cut's fallback when no SAM model is configured (vision/segmenter.py, vision/sam.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vision.aicut_colour import colour_models_decide
from vision.aicut_geodesic import geodesic_distance, grid_graph
from vision.aicut_shared import SharedTier, aicut_cache_build
from vision.aicut_types import Point
from vision.deadline import deadline_check

__all__ = ["AICut", "Point", "AICutTuning"]


@dataclass(frozen=True)
class AICutTuning:
    """The knobs of the fusion; defaults are the values measured best by bench/aicut_noc.py."""

    work_side: int = 1024  # long side everything but the final threshold runs at
    geo_side: int = 256  # long side of the image the geodesic distances are computed on
    geo_reach: float = 40.0  # geodesic distance at which a click's pull fades to nothing
    click_weight: float = 8.0  # logit a click adds at its own pixel (the prior's logit is clipped to ±4.6)
    prior_weight: float = 1.0
    prior_floor: float = 0.01  # the prior is clipped to [floor, 1 - floor] before the logit
    click_radius: int = 5  # disk, in full-size pixels, forced to each click's label
    focus: bool = True
    focus_scale: float = 0.45  # side of a focus crop, as a fraction of the image's long side
    focus_min_side: int = 160
    focus_limit: int = 4  # new focus views (one model pass each) a single call may run; the rest wait for later clicks
    keep_connected: bool = True
    prior_edge: float = 30.0  # geodesic cost of crossing a full step of the prior (compare geo_reach)
    colour_side: int = 400  # long side GrabCut works at when the prior is not trusted
    colour_iterations: int = 3
    colour_start: float = 4.0  # logit above which GrabCut starts a pixel as probably foreground
    colour_start_background: float = 0.0  # the same, for pixels the prior calls background


@dataclass
class _ImageContext:
    """Everything about one image that does not depend on the clicks."""

    prior: np.ndarray  # float32 HxW in [0, 1] at work size
    lab_small: np.ndarray  # float32 h x w x 3 (Lab) at geodesic size
    graph: object  # scipy CSR grid graph over lab_small
    scale: float  # geodesic size / work size


class AICut:
    """Click-based segmentation with a bounded per-image cache; one instance per process, thread-safe."""

    # The model passes (the prior, focus views): with them a click on another node runs no model.
    SHARED_KINDS = ("prior", "focus")

    def __init__(
        self,
        *,
        store,
        prior_model: str | None = "isnet-medium",
        cache_bytes: int = 256 * 2**20,
        focus_model: str | None = None,
        tuning: AICutTuning = AICutTuning(),
        shared: SharedTier | None = None,
    ):
        self.store = store
        self.prior_model = prior_model
        self.focus_model = focus_model or prior_model
        self.tuning = tuning
        self.cache = aicut_cache_build(max_bytes=cache_bytes, shared=shared, shared_kinds=self.SHARED_KINDS)

    def segment(self, *, image: np.ndarray, image_key: str, points: Sequence[Point]) -> np.ndarray:
        """The selection for all `points` so far on RGB uint8 `image`: uint8 HxW, 255 = selected."""
        height, width = image.shape[:2]
        points = points_clip(points=points, width=width, height=height)
        if not points:
            return np.zeros((height, width), np.uint8)
        # Everything runs at work size (the models see 1024 pixels at most anyway); only the final
        # threshold runs at full size, on upsampled logits, so big photos cost little more than small ones.
        scale = min(1.0, self.tuning.work_side / max(height, width))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = self.cache.get_or_compute(
                ("work", image_key, size), lambda: cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            )
            work_points = points_clip(
                points=[Point(round(p.x * scale), round(p.y * scale), p.positive) for p in points],
                width=size[0],
                height=size[1],
            )
        else:
            work, work_points = image, points
        deadline_check()
        logits = self._logits(image=work, image_key=image_key, points=work_points)
        radius = max(1, round(self.tuning.click_radius * scale))
        mask = mask_stamp_clicks(mask=logits > 0, points=work_points, radius=radius) > 0
        if self.tuning.keep_connected:
            mask = mask_keep_connected(mask=mask, points=work_points)
        deadline_check()
        if scale < 1.0:
            logits = np.where(mask, np.maximum(logits, 0.5), np.minimum(logits, -0.5))
            mask = logits_upsample_threshold(logits=logits, width=width, height=height)
        return mask_stamp_clicks(mask=mask, points=points, radius=self.tuning.click_radius)

    # -- the default pipeline -------------------------------------------------------------------

    def _context(self, image: np.ndarray, image_key: str) -> _ImageContext:
        return self.cache.get_or_compute(
            ("context", image_key, self.prior_model), lambda: self._context_build(image, image_key)
        )

    def _context_build(self, image: np.ndarray, image_key: str) -> _ImageContext:
        height, width = image.shape[:2]
        if self.prior_model is None:
            prior = np.full((height, width), 0.5, np.float32)  # no prior: the clicks alone decide
        else:
            prior = self.cache.get_or_compute(
                ("prior", self.prior_model, image_key),
                lambda: prior_fit(self.store.predict(self.prior_model, image), width=width, height=height),
            )
        scale = min(1.0, self.tuning.geo_side / max(height, width))
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
        # The prior's own edges are edges too: a click's region should not leak across them.
        prior_small = cv2.resize(prior, (lab.shape[1], lab.shape[0]), interpolation=cv2.INTER_AREA)
        graph = grid_graph(lab=lab, jump=prior_small, jump_cost=self.tuning.prior_edge)
        return _ImageContext(prior=prior, lab_small=lab, graph=graph, scale=scale)

    def _geodesic(self, context: _ImageContext, image_key: str, point: Point) -> np.ndarray:
        sx, sy = round(point.x * context.scale), round(point.y * context.scale)
        return self.cache.get_or_compute(
            ("geodesic", image_key, self.prior_model, sx, sy),
            lambda: geodesic_distance(
                graph=context.graph, shape=context.lab_small.shape[:2], x=sx, y=sy, limit=self.tuning.geo_reach
            ),
        )

    def _focus(self, image: np.ndarray, image_key: str, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box

        def run() -> np.ndarray:
            crop = np.ascontiguousarray(image[y0:y1, x0:x1])
            return prior_fit(self.store.predict(self.focus_model, crop), width=x1 - x0, height=y1 - y0)

        return self.cache.get_or_compute(("focus", image_key, self.focus_model, box), run)

    def _focus_apply(self, image: np.ndarray, image_key: str, prior: np.ndarray, point: Point) -> np.ndarray:
        height, width = image.shape[:2]
        x0, y0, x1, y1 = box = focus_box(point=point, width=width, height=height, tuning=self.tuning)
        view = self._focus(image, image_key, box)
        # Only the object under the click joins the prior: whatever else the crop finds salient does not.
        count, labels = cv2.connectedComponents((view >= 0.5).astype(np.uint8), connectivity=8)
        label = labels[point.y - y0, point.x - x0]
        if label == 0:
            return prior
        prior = prior.copy()
        region = prior[y0:y1, x0:x1]
        np.maximum(region, np.where(labels == label, view, 0.0), out=region)
        return prior

    def _logits(self, *, image: np.ndarray, image_key: str, points: Sequence[Point]) -> np.ndarray:
        tuning = self.tuning
        height, width = image.shape[:2]
        context = self._context(image, image_key)
        prior = context.prior
        first = next((p for p in points if p.positive), None)
        use_focus = tuning.focus and self.focus_model is not None and self.prior_model is not None
        focus_budget = tuning.focus_limit  # model passes for views not yet cached, this call

        def focus_apply(prior: np.ndarray, point: Point) -> np.ndarray:
            nonlocal focus_budget
            box = focus_box(point=point, width=width, height=height, tuning=tuning)
            if ("focus", image_key, self.focus_model, box) not in self.cache:
                if focus_budget <= 0:
                    return prior
                focus_budget -= 1
            deadline_check()
            return self._focus_apply(image, image_key, prior, point)

        if use_focus and first is not None and prior[first.y, first.x] < 0.5:
            prior = focus_apply(prior, first)
        # The prior is trusted while it agrees with the first include-click and with at least as many
        # include-clicks as it contradicts; otherwise the user wants something the model calls
        # background, and colour (GrabCut) decides instead of the prior.
        trusted = self.prior_model is not None and (first is None or prior[first.y, first.x] >= 0.5)
        agree = disagree = 0
        for point in points:
            if not point.positive or not trusted:
                continue
            if point is not first and use_focus and prior[point.y, point.x] < 0.5:
                # A focus view each: an untrusted prior gets none, since it no longer votes.
                prior = focus_apply(prior, point)
            if prior[point.y, point.x] >= 0.5:
                agree += 1
            else:
                disagree += 1
            trusted = agree >= disagree
        floor = tuning.prior_floor
        p = np.clip(prior, floor, 1 - floor)
        logits = (tuning.prior_weight if trusted else 0.0) * np.log(p / (1 - p))
        pull = np.zeros(context.lab_small.shape[:2], np.float32)
        for sign in (True, False):
            nearest = None
            for point in points:
                if point.positive is sign:
                    deadline_check()
                    dist = self._geodesic(context, image_key, point)
                    nearest = dist if nearest is None else np.minimum(nearest, dist)
            if nearest is not None:
                strength = 1.0 - nearest / tuning.geo_reach
                pull += strength if sign else -strength
        pull_full = cv2.resize(pull, (width, height), interpolation=cv2.INTER_LINEAR)
        logits = logits + tuning.click_weight * pull_full
        if not trusted:
            deadline_check()
            logits = logits_grabcut(image=image, logits=logits, prior=prior, points=points, tuning=tuning)
        return logits


def logits_grabcut(
    *, image: np.ndarray, logits: np.ndarray, prior: np.ndarray, points: Sequence[Point], tuning: AICutTuning
) -> np.ndarray:
    """GrabCut at work size, started from the clicks' cores with the clicks as hard labels; returns ±1 logits.

    The prior no longer votes for the selection, but what it calls the salient object (which the user
    did not ask for) starts as background, and its background within the clicks' reach as foreground.
    """
    height, width = image.shape[:2]
    scale = min(1.0, tuning.colour_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # Start the foreground colour model only from the clicks' cores, so it learns their colours, not the leaks.
    small_logits = cv2.resize(logits, size, interpolation=cv2.INTER_LINEAR)
    small_prior = cv2.resize(prior, size, interpolation=cv2.INTER_LINEAR)
    start = (small_logits > tuning.colour_start) | ((small_logits > tuning.colour_start_background) & (small_prior < 0.5))
    mask = np.where(start, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    radius = max(1, round(tuning.click_radius * scale))
    for point in points:
        centre = (round(point.x * scale), round(point.y * scale))
        cv2.circle(mask, centre, radius, cv2.GC_FGD if point.positive else cv2.GC_BGD, thickness=-1)
    foreground = (mask & 1).astype(bool)  # GC_FGD and GC_PR_FGD are the odd labels
    if foreground.any() and not foreground.all():
        grabcut_bounded(image=cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask=mask, iterations=tuning.colour_iterations)
    selected = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32) * 2 - 1
    return cv2.resize(selected, (width, height), interpolation=cv2.INTER_LINEAR)


GRABCUT_SEED = 0


def grabcut_bounded(*, image: np.ndarray, mask: np.ndarray, iterations: int) -> None:
    """GrabCut on BGR `image`, updating `mask` in place, one iteration at a time with the deadline between.

    The colour models are built first (iterCount 0) and checked: when they cannot tell the sides apart
    the graph cut degenerates and can run for minutes (see vision/aicut_colour.py), so the starting
    labels are kept. OpenCV's iterations carry no state but the models and the mask, so
    single-iteration calls give what one call would.
    """
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # The colour models start from k-means on OpenCV's random generator (one per thread): seeded, the same
    # clicks give the same selection every time, on whichever worker or node they land.
    cv2.setRNGSeed(GRABCUT_SEED)
    try:
        cv2.grabCut(image, mask, None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
        if not colour_models_decide(image=image, foreground_model=fgd, background_model=bgd):
            return
        for _ in range(iterations):
            deadline_check()
            cv2.grabCut(image, mask, None, bgd, fgd, 1, cv2.GC_EVAL)
    except cv2.error:
        pass  # too few samples for a colour model: keep the labels so far


def logits_upsample_threshold(*, logits: np.ndarray, width: int, height: int) -> np.ndarray:
    """`logits` > 0 after a bilinear resize to width x height, holding one byte per full-size pixel.

    The logits are quantised to uint8 around 128 first: a float32 resize of a 100 MP photo would hold
    400 MB. Callers push the logits to at least ±0.5, which stays ±16 levels away from the threshold.
    """
    levels = np.clip(np.rint(logits * 32.0 + 128.0), 0, 255).astype(np.uint8)
    return cv2.resize(levels, (width, height), interpolation=cv2.INTER_LINEAR) > 128


def points_clip(*, points: Sequence[Point], width: int, height: int) -> list[Point]:
    """The points with coordinates clamped into the image (callers validate; this only guards indexing)."""
    return [
        Point(int(min(max(p.x, 0), width - 1)), int(min(max(p.y, 0), height - 1)), bool(p.positive))
        for p in points
    ]


def prior_fit(probability: np.ndarray, *, width: int, height: int) -> np.ndarray:
    """A model's probability map resized to width x height, float32 in [0, 1]."""
    probability = np.asarray(probability, np.float32)
    if probability.shape != (height, width):
        probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(probability, 0.0, 1.0)


def focus_box(*, point: Point, width: int, height: int, tuning: AICutTuning) -> tuple[int, int, int, int]:
    """A square crop around `point`, snapped to a 16-pixel grid so nearby clicks share one cached view."""
    side = int(max(tuning.focus_min_side, tuning.focus_scale * max(width, height)))
    side = min(side, width, height)
    grid = 16
    cx = round(point.x / grid) * grid
    cy = round(point.y / grid) * grid
    x0 = int(min(max(cx - side // 2, 0), width - side))
    y0 = int(min(max(cy - side // 2, 0), height - side))
    return x0, y0, x0 + side, y0 + side


def mask_keep_connected(*, mask: np.ndarray, points: Sequence[Point]) -> np.ndarray:
    """Only the connected regions of `mask` that hold a positive click (all of it when none is positive)."""
    positives = [p for p in points if p.positive]
    if not positives:
        return mask
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = {int(labels[p.y, p.x]) for p in positives} - {0}
    if not keep:
        return np.zeros_like(mask)
    return np.isin(labels, list(keep))


def mask_stamp_clicks(*, mask: np.ndarray, points: Sequence[Point], radius: int) -> np.ndarray:
    """The mask as uint8 0/255 with a disk of each click's label drawn in click order."""
    out = np.where(mask, 255, 0).astype(np.uint8)
    for point in points:
        cv2.circle(out, (point.x, point.y), radius, 255 if point.positive else 0, thickness=-1)
    return out


def image_key_of(image: np.ndarray) -> str:
    """A content key for an in-memory image, for callers without a stored file's hash."""
    digest = hashlib.sha256(np.ascontiguousarray(image).data)
    digest.update(repr(image.shape).encode())
    return digest.hexdigest()
