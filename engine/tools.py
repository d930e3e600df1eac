"""The AI tools: remove-bg with output variants, and AI Cut. Check, charge, run, publish.

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
from engine.jobs import job_record
from engine.models import Account, StoredFile
from vision import render
from vision.aicut_cache import ByteLRU
from vision.aicut_types import Point
from vision.image_io import ImageError, image_decode, mask_load
from vision.salient import QUALITIES, alpha_predict

MAX_VARIANTS = 10
MAX_POINTS = 200
_QUALITY_RANK = {quality: rank for rank, quality in enumerate(QUALITIES)}


def _decode(stored: StoredFile, *, needed_pixels: int | None = None):
    try:
        with blobs.blob_local(stored.blob, scratch=files.storage_tmp_dir()) as path:
            return image_decode(path, max_pixels=settings.BGCUT_MAX_INPUT_PIXELS, needed_pixels=needed_pixels)
    except ImageError as error:
        raise ApiError(415, f"{stored.path!r} cannot be processed: {error.reason}")
    except FileNotFoundError:
        raise ApiError(404, f"{stored.path!r} no longer exists: it was replaced, deleted or expired.")


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

OUTPUT_TYPES = ("cutout", "mask")


@dataclass(frozen=True)
class AICutRequest:
    input_field: str
    input_path: str
    output_field: str
    output_path: str
    points: tuple[Point, ...]
    output_type: str


def _points_check(points: tuple[Point, ...], *, width: int, height: int) -> None:
    kinds = {True: "foreground_points", False: "background_points"}
    counters = {True: 0, False: 0}
    for point in points:
        index = counters[point.positive]
        counters[point.positive] += 1
        if not (0 <= point.x < width and 0 <= point.y < height):
            raise ApiError(
                400,
                f"{kinds[point.positive]}[{index}] ({point.x}, {point.y}) is outside the {width}×{height} image: "
                "coordinates are image pixels from the top-left corner.",
            )


# Decoded pixels of recently segmented images: each further click skips the JPEG decode.
_decoded_images = ByteLRU(max_bytes=192 * 2**20)


def aicut_segment(*, account: Account, request: AICutRequest) -> StoredFile:
    source = files.file_get(account=account, path=request.input_path, field=request.input_field)
    if source.content_type != "image/jpeg":
        raise ApiError(400, f"{request.input_field} must be a JPEG image; {source.path!r} is {source.content_type}.")
    rgb = _decoded_images.get_or_compute(source.sha256, lambda: _decode(source).rgb)
    height, width = rgb.shape[:2]
    _points_check(request.points, width=width, height=height)
    parameters = {"output_path": request.output_path, "output_type": request.output_type,
                  "foreground_points": [[p.x, p.y] for p in request.points if p.positive],
                  "background_points": [[p.x, p.y] for p in request.points if not p.positive]}
    with tool_call(account=account, tool="ai-cut", parameters=parameters, input_path=request.input_path,
                   cost=settings.BGCUT_CREDIT_COST_AI_CUT) as (job, deadline):
        timer = _Timer()
        mask = inference.aicut().segment(image=rgb, image_key=source.sha256, points=request.points)
        timer.mark("segment")
        inference.deadline_check(deadline)
        data = aicut_output_encode(image=rgb, mask=mask, output_type=request.output_type)
        stored = files.file_write_bytes(account=account, path=request.output_path, data=data,
                                        content_type="image/jpeg", width=width, height=height)
        timer.mark("store")
        job.outputs = [stored.path]
        job.timings = timer.laps
    return stored


def aicut_output_encode(*, image: np.ndarray, mask: np.ndarray, output_type: str) -> bytes:
    """The selected subject on white, or the mask itself (white = selected), as a JPEG."""
    if output_type == "mask":
        picture = Image.fromarray(mask, mode="L")
    else:
        selected = (mask > 127)[..., None]
        picture = Image.fromarray(np.where(selected, image, np.uint8(255)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()
