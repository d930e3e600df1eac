"""Salient-object alpha for remove-bg: quality level -> plan (models, fusion, edge refinement) -> alpha."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Mapping

import cv2
import numpy as np

from vision.models import ModelStore, map_resize

QUALITIES = ("low", "medium", "high")
STRIP_PIXELS = 1 << 18  # pixels per strip when writing the full-size alpha: bounds the float temporaries


@dataclass(frozen=True)
class QualityPlan:
    """One quality level: which models run (one pass each), how their maps fuse, how edges are refined."""

    models: tuple[str, ...]
    weights: tuple[float, ...] = ()  # fusion weights, one per model; empty = equal
    fusion: str = "logit"  # "logit": weighted mean of log-odds (a product of experts); "mean": of probabilities
    fuse_size: int = 1024  # the square side the maps are fused at (the models' own space)
    contrast: float = 1.0  # gain on the log-odds: > 1 pushes alpha towards 0/1, keeping 0, 0.5 and 1
    refine_radius: int = 0  # guided-filter radius in pixels at the refinement size; 0 = off
    refine_eps: float = 1e-3
    refine_side: int = 1536  # longest side the guided filter's coefficients are computed at

    def __post_init__(self):
        if not self.models:
            raise ValueError("a quality plan needs at least one model")
        if self.weights and (len(self.weights) != len(self.models) or min(self.weights) < 0 or sum(self.weights) <= 0):
            raise ValueError("plan weights need one non-negative value per model, not all zero")
        if self.contrast <= 0 or self.fuse_size < 8 or self.refine_radius < 0 or self.refine_eps <= 0:
            raise ValueError("plan contrast, refine_eps must be > 0, fuse_size >= 8, refine_radius >= 0")
        if self.fusion not in ("logit", "mean"):
            raise ValueError("plan fusion must be 'logit' or 'mean'")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "QualityPlan":
        """A plan from settings JSON; unknown keys are an error so a typo is not silently ignored."""
        allowed = {f.name for f in fields(cls)}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"quality plan: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        values = dict(data)
        if isinstance(values.get("models"), str):
            values["models"] = [values["models"]]
        for key in ("models", "weights"):
            if key in values:
                values[key] = tuple(values[key])
        values["weights"] = tuple(float(w) for w in values.get("weights", ()))
        return cls(**values)


@dataclass(frozen=True)
class QualityPlans:
    """The quality -> plan mapping. Defaults were measured on ECSSD-dev (docs/BENCHMARKS.md)."""

    # Numbers below: maxF on ECSSD-dev images 1-60, where the defaults were chosen; the full table is in
    # docs/BENCHMARKS.md. contrast=2 cut MAE by 10-15% at equal maxF; 3 cut it further but hardens the soft
    # edges (hair) that ECSSD's binary masks do not score, so 2 it is.
    # low: the 4.6 MB U^2-Net small alone, ~0.3-0.5 s a pass on 2 cores (0.942).
    low: QualityPlan = QualityPlan(models=("u2netp",), contrast=2.0)
    # medium: ISNet with fp16 weights, ~2-4 s (0.953); the uint8 'small' file was slower here and far worse.
    medium: QualityPlan = QualityPlan(models=("isnet-medium",), contrast=2.0)
    # high: both maps, which err in different places, fused as weighted log-odds (0.9635; a plain mean 0.959),
    # then a light guided filter snaps edges to the image (0.9652).
    high: QualityPlan = QualityPlan(
        models=("isnet-medium", "u2netp"), weights=(0.6, 0.4), fusion="logit", contrast=2.0,
        refine_radius=2, refine_eps=1e-3,
    )

    def get(self, quality: str) -> QualityPlan:
        if quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
        return getattr(self, quality)

    def model_names(self) -> set[str]:
        """Every model any level uses: what start-up must verify."""
        return {name for quality in QUALITIES for name in self.get(quality).models}

    @classmethod
    def from_settings(cls, data: Mapping[str, Any] | str | None) -> "QualityPlans":
        """Defaults, with the levels named in data (dict or JSON text) replaced whole by the given plans."""
        if not data:
            return cls()
        if isinstance(data, str):
            data = json.loads(data)
        unknown = set(data) - set(QUALITIES)
        if unknown:
            raise ValueError(f"BGCUT_QUALITY_PLANS: unknown level(s) {sorted(unknown)}; use {', '.join(QUALITIES)}")
        return cls(**{quality: QualityPlan.from_dict(plan) for quality, plan in data.items()})

    @classmethod
    def single_model(cls, name: str) -> "QualityPlans":
        """Every level on one model (tests map everything to u2netp this way)."""
        plan = QualityPlan(models=(name,))
        return cls(low=plan, medium=plan, high=plan)


def alpha_predict(
    *, image: np.ndarray, quality: str, store: ModelStore, plan: QualityPlans | QualityPlan | None = None
) -> np.ndarray:
    """Float32 HxW alpha in [0, 1] for an RGB uint8 image: exactly one pass per model of the plan."""
    level = plan if isinstance(plan, QualityPlan) else (plan or QualityPlans()).get(quality)
    fused = maps_fuse(
        maps=[store.infer(name, image) for name in level.models],
        weights=level.weights,
        size=level.fuse_size,
        fusion=level.fusion,
    )
    height, width = image.shape[:2]
    if level.refine_radius:
        return alpha_guided_refine(
            image=image, prob=fused, radius=level.refine_radius, eps=level.refine_eps, side=level.refine_side,
            contrast=level.contrast,
        )
    # The curve goes on at model size, before the one upsampling: cheaper than on a large full-size map.
    return map_resize(prob=map_contrast(prob=fused, gain=level.contrast), size=(height, width))


LOGIT_EPS = 1e-3  # clip before log-odds: a confident 0 or 1 from one model must not veto the other outright


def maps_fuse(*, maps: list[np.ndarray], weights: tuple[float, ...], size: int, fusion: str = "logit") -> np.ndarray:
    """Weighted fusion of probability maps, each brought to size x size (all are the image stretched square)."""
    if len(maps) == 1:
        return maps[0]
    weights = weights or (1.0,) * len(maps)
    total = float(sum(weights))
    fused = np.zeros((size, size), dtype=np.float32)
    for prob, weight in zip(maps, weights, strict=True):
        prob = map_resize(prob=prob, size=(size, size))
        if fusion == "logit":
            prob = np.clip(prob, LOGIT_EPS, 1.0 - LOGIT_EPS)
            prob = np.log(prob / (1.0 - prob))
        fused += prob * np.float32(weight / total)
    if fusion == "logit":
        fused = 1.0 / (1.0 + np.exp(-fused))
    return fused.astype(np.float32, copy=False)


def map_contrast(*, prob: np.ndarray, gain: float) -> np.ndarray:
    """Multiply the log-odds by gain: p^g / (p^g + (1-p)^g). Keeps 0, 0.5 and 1; gain > 1 sharpens."""
    if gain == 1.0:
        return prob
    high = np.power(prob, np.float32(gain))
    low = np.power(1.0 - prob, np.float32(gain))
    high /= high + low
    return high.astype(np.float32, copy=False)


@dataclass(frozen=True, eq=False)
class GuideStats:
    """What the guided filter needs of the image alone, at the size its coefficients are computed at."""

    grey: np.ndarray  # uint8 at the image's size: the guide the coefficients are applied to
    guide: np.ndarray  # float32 0..1 at the coefficients' size
    mean: np.ndarray  # box mean of `guide`
    var: np.ndarray  # box variance of `guide`
    radius: int

    @property
    def size(self) -> tuple[int, int]:
        return self.guide.shape


def guide_stats(*, image: np.ndarray, radius: int, side: int) -> GuideStats:
    """The grey guide of an RGB image, its mean and variance over the filter's window, longest side at most `side`."""
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    work_h, work_w = max(1, round(height * scale)), max(1, round(width * scale))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    guide = cv2.resize(grey, (work_w, work_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mean = _box(guide, radius)
    var = _box(guide * guide, radius) - mean * mean
    return GuideStats(grey=grey, guide=guide, mean=mean, var=var, radius=radius)


def guided_coefficients(*, stats: GuideStats, prob: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's (a, b) for `prob` at the stats' size: the output is a * guide + b."""
    source = map_resize(prob=prob, size=stats.size)
    mean_p = _box(source, stats.radius)
    cov_ip = _box(stats.guide * source, stats.radius) - stats.mean * mean_p
    coef_a = cov_ip / (stats.var + np.float32(eps))
    coef_b = mean_p - coef_a * stats.mean
    return _box(coef_a, stats.radius), _box(coef_b, stats.radius)


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def alpha_guided_refine(
    *, image: np.ndarray, prob: np.ndarray, radius: int, eps: float, side: int, contrast: float = 1.0
) -> np.ndarray:
    """Snap the map's edges to the image with a fast guided filter (He et al. 2015), grey guide.

    Coefficients are computed with the longest side at most `side`, then applied (with the contrast curve)
    strip by strip at full size: a large image holds one full-size float32, its grey guide and a few strips.
    """
    height, width = image.shape[:2]
    stats = guide_stats(image=image, radius=radius, side=side)
    coef_a, coef_b = guided_coefficients(stats=stats, prob=prob, eps=eps)
    grey, (work_h, work_w) = stats.grey, stats.size
    del stats  # only the full-size grey guide is needed from here on

    alpha = np.empty((height, width), dtype=np.float32)
    for top, rows, grid_x, grid_y in resize_strips(source=(work_h, work_w), size=(height, width),
                                                   strip_pixels=STRIP_PIXELS):
        strip_a = cv2.remap(coef_a, grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        strip_b = cv2.remap(coef_b, grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = alpha[top:top + rows]
        np.multiply(strip_a, grey[top:top + rows], out=out)
        out *= np.float32(1.0 / 255.0)
        out += strip_b
        np.clip(out, 0.0, 1.0, out=out)
        if contrast != 1.0:
            out[...] = map_contrast(prob=out, gain=contrast)
    return alpha


def resize_strips(*, source: tuple[int, int], size: tuple[int, int], strip_pixels: int):
    """Yield (top, rows, grid_x, grid_y): cv2.remap grids that upsample a `source` (h, w) map to `size`
    (h, w) one strip of rows at a time, at the sample positions cv2.resize (INTER_LINEAR) would use, so
    the strips together match a whole-image resize without a second full-size float map."""
    (work_h, work_w), (height, width) = source, size
    map_x = ((np.arange(width, dtype=np.float32) + 0.5) * (work_w / width) - 0.5)[None, :]
    strip_rows = max(1, strip_pixels // width)
    for top in range(0, height, strip_rows):
        rows = min(strip_rows, height - top)
        ys = ((np.arange(top, top + rows, dtype=np.float32) + 0.5) * (work_h / height) - 0.5)[:, None]
        grid_x = np.broadcast_to(map_x, (rows, width)).astype(np.float32)
        grid_y = np.broadcast_to(ys, (rows, width)).astype(np.float32)
        yield top, rows, grid_x, grid_y
