"""The AI tools: remove-bg with output variants, and AI Cut (with its uncharged prepare and preview). Check,
charge, run, publish.

Requests arrive validated (engine.serializers builds these dataclasses).
"""
from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from PIL import Image

from engine import blobs, files, inference
from engine.errors import ApiError
from engine.jobs import job_record, job_refund
from engine.models import Account, StoredFile
from vision import render
from vision.aicut_io import PromptError, aicut_image_load, preview_encode, prompt_check, selection_encode
from vision.aicut_types import Point
from vision.image_io import ImageError, image_decode, mask_load
from vision.salient import QUALITIES, alpha_predict
from vision.segmenter import Box, PreviewSegmenter, Selection, alpha_is_empty

MAX_VARIANTS = 10
MAX_POINTS = 200
_QUALITY_RANK = {quality: rank for rank, quality in enumerate(QUALITIES)}


@contextmanager
def _decode_errors(stored: StoredFile):
    """Decoding failures as the API's answers: 415 for bytes we cannot read, 404 for a file gone meanwhile."""
    try:
        yield
    except ImageError as error:
        raise ApiError(415, f"{stored.path!r} cannot be processed: {error.reason}")
    except FileNotFoundError:
        raise ApiError(404, f"{stored.path!r} no longer exists: it was replaced, deleted or expired.")


def _decode(stored: StoredFile, *, needed_pixels: int | None = None):
    with _decode_errors(stored), blobs.blob_local(stored.blob, scratch=files.storage_tmp_dir()) as path:
        return image_decode(path, max_pixels=settings.BGCUT_MAX_INPUT_PIXELS, needed_pixels=needed_pixels)


@contextmanager
def tool_call(*, account: Account, tool: str, parameters: dict, input_path: str, cost: Decimal):
    """Log the call, charge for it (refunded on failure) and hold an inference slot until done."""
    deadline = inference.deadline_start()
    with (
        job_record(account=account, tool=tool, parameters=parameters, input_path=input_path, cost=cost) as job,
        inference.inference_gate().slot(deadline=deadline),
    ):
        yield job, deadline


# ---- remove-bg ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantRequest:
    output_path: str
    variant: render.Variant
    quality: str
    background_image_path: str | None = None  # a stored image to put behind the subject


@dataclass(frozen=True)
class RemoveBgRequest:
    input_field: str
    input_path: str
    mask_path: str | None
    variants: tuple[VariantRequest, ...]
    output_field: str = "output_file_path"  # the dialect to answer in: output_file_path(s) or output_key(s)

    @property
    def quality(self) -> str:
        """One AI pass serves every variant, so it runs at the best quality any variant asks for."""
        return max((v.quality for v in self.variants), key=_QUALITY_RANK.__getitem__)


def removebg_process(*, account: Account, request: RemoveBgRequest) -> list[StoredFile]:
    """One AI pass (or a stored mask), every variant rendered from it, all published or none."""
    source = files.file_get(account=account, path=request.input_path, field=request.input_field)
    mask_file = files.file_get(account=account, path=request.mask_path, field="mask_file_path") if request.mask_path else None
    backdrop_files = {path: files.file_get(account=account, path=path, field="background_image_path")
                      for path in {v.background_image_path for v in request.variants} - {None}}
    parameters = {"quality": request.quality, "mask_file_path": request.mask_path,
                  "variants": [{"output_file_path": v.output_path, **_variant_summary(v.variant),
                                "background_image_path": v.background_image_path} for v in request.variants]}
    # From a stored mask there is no model pass: only decoding, compositing and encoding are paid for.
    cost = settings.BGCUT_CREDIT_COST_RENDER if mask_file is not None else settings.BGCUT_CREDIT_COST_REMOVE_BG
    with tool_call(account=account, tool="remove-bg", parameters=parameters, input_path=request.input_path,
                   cost=cost) as (job, deadline):
        timer = _Timer()
        # A huge JPEG may decode at a reduced scale, unless a crop needs the full resolution.
        autocrop = any(v.variant.autocrop for v in request.variants)
        needed = None if autocrop else max(v.variant.max_resolution for v in request.variants)
        decoded = _decode(source, needed_pixels=needed)
        height, width = decoded.rgb.shape[:2]
        timer.mark("decode")
        if mask_file is not None:
            try:
                with blobs.blob_local(mask_file.blob, scratch=files.storage_tmp_dir()) as mask_path:
                    alpha = mask_load(mask_path, width=width, height=height,
                                      max_pixels=settings.BGCUT_MAX_INPUT_PIXELS)
            except ImageError as error:
                raise ApiError(400, f"mask_file_path {mask_file.path!r}: {error.reason}")
            except FileNotFoundError:  # replaced or deleted since the lookup: its old blob is gone
                raise ApiError(404, f"mask_file_path {mask_file.path!r} was replaced or deleted while this "
                                    "request read it: send the request again.")
            if alpha_is_empty(alpha):
                # Exporting nothing is never what the caller meant, and must not be charged as a success.
                raise ApiError(400, f"mask_file_path {mask_file.path!r} selects nothing (it is black or nearly "
                                    "so): select the subject first, e.g. with AI Cut's output_type \"mask\".")
        else:
            alpha = alpha_predict(image=decoded.rgb, quality=request.quality, store=inference.model_store(),
                                  plan=inference.quality_plans())
        if decoded.alpha is not None:
            np.minimum(alpha, decoded.alpha, out=alpha)  # what was transparent stays transparent
        timer.mark("alpha")
        inference.deadline_check(deadline)
        cutout = render.cutout_prepare(image=decoded.rgb, alpha=alpha)
        del alpha
        backdrops = {path: _decode(stored).rgb for path, stored in backdrop_files.items()}
        # The encoders release the GIL: two variants at a time use both cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            encoded = list(pool.map(
                lambda item: render.cutout_render(cutout=cutout, variant=item.variant,
                                                  backdrop=backdrops.get(item.background_image_path)),
                request.variants))
        outputs = []
        for item, data in zip(request.variants, encoded):
            out_width, out_height = Image.open(io.BytesIO(data)).size
            outputs.append((item.output_path, data, item.variant.content_type, out_width, out_height))
        timer.mark("render")
        inference.deadline_check(deadline)
        stored = files.files_write_bytes(account=account, outputs=outputs)
        timer.mark("store")
        job.outputs = [f.path for f in stored]
        job.timings = timer.laps
    return stored


def _variant_summary(variant: render.Variant) -> dict:
    return {"format": variant.format, "max_resolution": variant.max_resolution,
            "background_color": variant.background_color, "output_compression": variant.output_compression,
            "autocrop": variant.autocrop, "background_blur": variant.background_blur}


class _Timer:
    def __init__(self):
        self.laps: dict[str, int] = {}
        self._last = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round((now - self._last) * 1000)
        self._last = now


# ---- AI Cut ---------------------------------------------------------------------------------

EMPTY_MESSAGE = "Nothing selected: click on the object (the clicks so far select no region)."


@dataclass(frozen=True)
class AICutRequest:
    input_field: str
    input_path: str
    output_field: str
    output_path: str
    points: tuple[Point, ...]
    output_type: str
    box: Box | None = None


def _aicut_source(*, account: Account, field: str, path: str) -> StoredFile:
    source = files.file_get(account=account, path=path, field=field)
    if source.content_type != "image/jpeg":
        raise ApiError(400, f"{field} must be a JPEG image; {source.path!r} is {source.content_type}.")
    return source


def _aicut_pixels(source: StoredFile) -> np.ndarray:
    with _decode_errors(source):
        # The blob is fetched only when the decoded pixels are not cached (a download, on S3).
        return aicut_image_load(local_path=lambda: blobs.blob_local(source.blob, scratch=files.storage_tmp_dir()),
                                content_key=source.sha256, max_pixels=settings.BGCUT_MAX_INPUT_PIXELS)


def _prompts_check(*, points: tuple[Point, ...], box: Box | None, width: int, height: int) -> None:
    try:
        prompt_check(points=points, box=box, width=width, height=height)
    except PromptError as error:
        raise ApiError(400, str(error))


def aicut_segment(*, account: Account, request: AICutRequest) -> tuple[StoredFile, Selection]:
    """Decode (cached), check the prompts against the image, segment, publish; vision owns the pixels.

    An empty selection is published (an all-black mask) but its charge is given back. The job's timings:
    load (lookup, decoded pixels, prompt check), admit (job row, charge, inference slot), segment, encode, store."""
    timer = _Timer()
    source = _aicut_source(account=account, field=request.input_field, path=request.input_path)
    rgb = _aicut_pixels(source)
    height, width = rgb.shape[:2]
    _prompts_check(points=request.points, box=request.box, width=rgb.shape[1], height=rgb.shape[0])
    box = request.box
    parameters = {"output_path": request.output_path, "output_type": request.output_type,
                  "foreground_points": [[p.x, p.y] for p in request.points if p.positive],
                  "background_points": [[p.x, p.y] for p in request.points if not p.positive],
                  "box": None if box is None else [box.x1, box.y1, box.x2, box.y2]}
    timer.mark("load")
    with tool_call(account=account, tool="ai-cut", parameters=parameters, input_path=request.input_path,
                   cost=settings.BGCUT_CREDIT_COST_AI_CUT) as (job, deadline):
        timer.mark("admit")
        selection = inference.aicut().segment(image=rgb, image_key=source.sha256, points=request.points,
                                              box=request.box)
        timer.mark("segment")
        inference.deadline_check(deadline)
        data = selection_encode(image=rgb, selection=selection, output_type=request.output_type)
        timer.mark("encode")
        stored = files.file_write_bytes(account=account, path=request.output_path, data=data,
                                        content_type="image/jpeg", width=width, height=height)
        timer.mark("store")
        job.outputs = [stored.path]
        job.timings = timer.laps
        if selection.empty:
            job_refund(job=job)  # nothing selected is not a success to charge for
    return stored, selection


@dataclass(frozen=True)
class AICutInput:
    """The image an AI Cut session clicks on, and the field (dialect) it came in."""

    input_field: str
    input_path: str


def aicut_prepare(*, account: Account, request: AICutInput) -> bool:
    """The per-image work (SAM's encoder) done ahead of the first click, in an inference slot; not charged.

    Idempotent: the work is cached by content, so a second call costs a lookup. Answers whether previews
    are available for the image from now on."""
    source = _aicut_source(account=account, field=request.input_field, path=request.input_path)
    rgb = _aicut_pixels(source)
    segmenter = inference.aicut()
    with inference.inference_gate().slot(deadline=inference.deadline_start()):
        segmenter.prepare(image=rgb, image_key=source.sha256)
    return isinstance(segmenter, PreviewSegmenter)


@dataclass(frozen=True)
class AICutPreviewRequest:
    input_field: str
    input_path: str
    points: tuple[Point, ...]
    box: Box | None = None


PREVIEW_STATUSES = ("ready", "not_prepared", "unavailable")


@dataclass(frozen=True)
class Preview:
    """A preview's answer: "ready" with a small PNG mask, else why there is none ("not_prepared", "unavailable")."""

    status: str
    png: bytes | None = None
    width: int | None = None
    height: int | None = None
    empty: bool | None = None


PREVIEW_MESSAGES = {
    "not_prepared": "No preview yet: the image is not prepared. Call /v3/tools/ai/ai-cut/prepare/ first; a preview "
                    "never runs the per-image model pass itself.",
    "unavailable": "This server's AI Cut model has no cheap preview: send the click to segment instead.",
}


def aicut_preview(*, account: Account, request: AICutPreviewRequest) -> Preview:
    """What the prompts would select, small and inline: one decoder pass on a prepared image, nothing
    stored, nothing charged, nothing logged. It never queues: with every slot taken it is a 503 at once."""
    source = _aicut_source(account=account, field=request.input_field, path=request.input_path)
    segmenter = inference.aicut()
    if not isinstance(segmenter, PreviewSegmenter):
        return Preview(status="unavailable")
    # Checked against the stored (upright) size, so an unprepared image is answered without decoding it.
    _prompts_check(points=request.points, box=request.box, width=source.width, height=source.height)
    if not segmenter.prepared(image_key=source.sha256):
        return Preview(status="not_prepared")
    rgb = _aicut_pixels(source)
    with inference.inference_gate().slot(deadline=inference.deadline_start(), queue=False):
        mask = segmenter.preview(image=rgb, image_key=source.sha256, points=request.points, box=request.box)
    if mask is None:
        return Preview(status="not_prepared")
    height, width = mask.shape
    return Preview(status="ready", png=preview_encode(mask), width=width, height=height, empty=alpha_is_empty(mask))
