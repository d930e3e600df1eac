"""AI Cut's pixels in and out: decoded images cached by content, prompts checked against the image, the output JPEG."""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vision.aicut_cache import ByteLRU
from vision.aicut_types import Point
from vision.image_io import image_decode
from vision.segmenter import Box, Selection

OUTPUT_TYPES = ("cutout", "mask")
JPEG_QUALITY = 92  # the cutout on white: a picture
# The mask is data the caller thresholds: its edge values sit at 127/128 (SAM's decision, vision/sam.py), where
# JPEG noise of one level flips pixels. At 92 that moved a small COCO-dev glove's IoU from 0.904 to 0.890 and cost
# the HTTP API clicks the in-process robot did not need; at 100 it stays within 0.002, for 1.2-3x the bytes.
MASK_JPEG_QUALITY = 100
# Quality 100 still moves a value by one level now and then, so a few pixels pinned at 127/128 changed sides:
# through the API, 19 of 205 refinement clicks the robot made on COCO-dev came back on the wrong side although
# the selection held them (vision/sam_honour.py). The mask keeps its values this many levels clear of the
# threshold on both sides, so the decision survives the round trip; 2 levels of a soft edge do not show.
MASK_DECISION_GAP = 2
_MASK_GAP_TABLE = np.array(
    [min(v, 127 - MASK_DECISION_GAP) if v <= 127 else max(v, 128 + MASK_DECISION_GAP) for v in range(256)], np.uint8
)
STRIP_ROWS_PIXELS = 1 << 20  # pixels per strip when compositing on white: bounds the temporaries

# Decoded pixels of recently segmented images: each further click skips the JPEG decode.
_decoded_images = ByteLRU(max_bytes=192 * 2**20)


class PromptError(ValueError):
    """A click or box that does not fit the image; the message is a sentence for the caller."""


def aicut_image_load(*, local_path: Callable[[], AbstractContextManager[Path]], content_key: str,
                     max_pixels: int) -> np.ndarray:
    """RGB uint8 pixels of the stored image, decoded once per content key (vision.image_io errors pass through).

    `local_path()` gives the file to decode; it is opened only when the pixels are not cached yet.
    """
    def decode() -> np.ndarray:
        with local_path() as path:
            return image_decode(path, max_pixels=max_pixels).rgb

    return _decoded_images.get_or_compute(content_key, decode)


def prompt_check(*, points: Sequence[Point], box: Box | None, width: int, height: int) -> None:
    """Raise PromptError naming the first click or box corner outside the width x height image."""
    kinds = {True: "foreground_points", False: "background_points"}
    counters = {True: 0, False: 0}
    for point in points:
        index = counters[point.positive]
        counters[point.positive] += 1
        if not (0 <= point.x < width and 0 <= point.y < height):
            raise PromptError(
                f"{kinds[point.positive]}[{index}] ({point.x}, {point.y}) is outside the {width}×{height} image: "
                "coordinates are image pixels from the top-left corner."
            )
    if box is not None and not (0 <= box.x1 < box.x2 <= width and 0 <= box.y1 < box.y2 <= height):
        raise PromptError(
            f"box ({box.x1}, {box.y1})-({box.x2}, {box.y2}) must lie inside the {width}×{height} image with "
            "x1 < x2 and y1 < y2 (x2, y2 may equal the width, height)."
        )


def selection_encode(*, image: np.ndarray, selection: Selection, output_type: str) -> bytes:
    """The selected subject on white (soft edges blended), or the alpha itself (white = selected), as a JPEG."""
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}")
    alpha = selection.alpha
    if output_type == "mask":
        picture = Image.fromarray(cv2.LUT(alpha, _MASK_GAP_TABLE), mode="L")
    else:
        out = np.empty_like(image)
        rows = max(1, STRIP_ROWS_PIXELS // max(1, image.shape[1]))
        for top in range(0, image.shape[0], rows):
            a = alpha[top:top + rows, :, None].astype(np.uint16)
            blended = image[top:top + rows].astype(np.uint16) * a + 255 * (255 - a) + 127
            out[top:top + rows] = blended // 255
        picture = Image.fromarray(out)
    buffer = io.BytesIO()
    quality = MASK_JPEG_QUALITY if output_type == "mask" else JPEG_QUALITY
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def preview_encode(mask: np.ndarray) -> bytes:
    """A 0/255 preview mask as a 1-bit PNG: a few kilobytes, small enough to answer inline."""
    buffer = io.BytesIO()
    Image.fromarray(mask > 127).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
