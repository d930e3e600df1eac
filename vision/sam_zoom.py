"""The geometry of SAM's zoom-in: a view (the whole image or a crop of it) and moving masks between views.

SAM sees an image through a 1024-px frame and answers with 256-px low-resolution masks, so an object 80 px
wide in a 640-px photo gets about 32 cells of mask: its outline (a kite's string, a giraffe's legs) is lost
however many clicks follow. Zooming in (RITM / FocalClick's "zoom-in") runs the encoder once more on a crop
around the selection, so the same object fills the frame and gets several times the cells. A view is a box
in image pixels; the whole image is the view of every click that does not zoom.

Conventions: a box is (x1, y1, x2, y2) with x2, y2 exclusive. A view's frame is the crop resized so its long
side is FRAME (SAM's ResizeLongestSide), padded at the bottom/right; its low-resolution mask covers the padded
frame at a quarter of its side.
"""
from __future__ import annotations

import cv2
import numpy as np

from vision.segmenter import Box

FRAME = 1024  # the encoder's square input side
LOW_RES = FRAME // 4  # side of the decoder's low-resolution masks
OUTSIDE_LOGIT = -20.0  # logit of pixels outside a zoomed view: not selected, far below any decision


def whole_view(shape: tuple[int, int]) -> Box:
    height, width = shape
    return Box(0, 0, width, height)


def frame_shape(*, shape: tuple[int, int], side: int) -> tuple[int, int]:
    """(height, width) of an image of `shape` resized so its long side is `side`."""
    scale = side / max(shape)
    return max(1, int(shape[0] * scale + 0.5)), max(1, int(shape[1] * scale + 0.5))  # SAM's ResizeLongestSide


def view_scale(view: Box) -> tuple[float, float]:
    """(x, y) scale from the view's pixels to its encoder frame, as SAM's ResizeLongestSide rounds it."""
    width, height = view.x2 - view.x1, view.y2 - view.y1
    framed_h, framed_w = frame_shape(shape=(height, width), side=FRAME)
    return framed_w / width, framed_h / height


def box_union(first: Box | None, second: Box | None) -> Box | None:
    if first is None or second is None:
        return first or second
    return Box(min(first.x1, second.x1), min(first.y1, second.y1), max(first.x2, second.x2), max(first.y2, second.y2))


def crop_choose(*, region: Box, shape: tuple[int, int], expand: float, min_side: int) -> Box:
    """The square crop around `region` (the selection and the include-clicks) that a zoom encodes.

    Its side is the region's long side times `expand` (room for the selection to grow while the crop
    stays fixed), at least `min_side` pixels (a tiny object keeps some context and is never upscaled
    past what the encoder has seen in training), centred on the region and shifted, not shrunk, to lie
    inside the image; only an image narrower than the side clips it. A square costs nothing: the long
    side alone sets the frame's scale, and the rest is context the encoder would otherwise see as padding.
    """
    height, width = shape
    side = max(max(region.x2 - region.x1, region.y2 - region.y1) * expand, min_side)
    crop_w, crop_h = int(min(round(side), width)), int(min(round(side), height))
    cx, cy = (region.x1 + region.x2) / 2, (region.y1 + region.y2) / 2
    x1 = int(min(max(round(cx - crop_w / 2), 0), width - crop_w))
    y1 = int(min(max(round(cy - crop_h / 2), 0), height - crop_h))
    return Box(x1, y1, x1 + crop_w, y1 + crop_h)


def box_inside(inner: Box, outer: Box) -> bool:
    return inner.x1 >= outer.x1 and inner.y1 >= outer.y1 and inner.x2 <= outer.x2 and inner.y2 <= outer.y2


def low_res_region(low_res: np.ndarray, *, view: Box) -> Box | None:
    """The box in image pixels of the cells a low-resolution mask (256 x 256 logits of `view`) selects."""
    ys, xs = np.nonzero(low_res.reshape(LOW_RES, LOW_RES) > 0)
    if len(xs) == 0:
        return None
    sx, sy = view_scale(view)
    # Cell u covers frame pixels [4u, 4u + 4); frame pixel f is view pixel f / scale.
    x1, x2 = view.x1 + 4 * xs.min() / sx, view.x1 + 4 * (xs.max() + 1) / sx
    y1, y2 = view.y1 + 4 * ys.min() / sy, view.y1 + 4 * (ys.max() + 1) / sy
    return Box(int(np.floor(x1)), int(np.floor(y1)), int(min(np.ceil(x2), view.x2)), int(min(np.ceil(y2), view.y2)))


def low_res_transfer(low_res: np.ndarray, *, source: Box, target: Box) -> np.ndarray:
    """A low-resolution mask of view `source` resampled into view `target`'s frame ([1, 1, 256, 256]).

    What `source` did not see (outside its crop) comes out as OUTSIDE_LOGIT: not selected.
    """
    if source == target:
        return low_res
    (sx, sy), (tx, ty) = view_scale(source), view_scale(target)
    # Continuous cell coordinate a (cell u spans [u, u + 1)) is image x = view.x1 + 4 a / scale. warpAffine
    # maps each target cell centre (i + 0.5) to the source cell centre it falls on, minus 0.5 for indices.
    ax, ay = sx / tx, sy / ty
    bx = (target.x1 - source.x1) * sx / 4 + 0.5 * ax - 0.5
    by = (target.y1 - source.y1) * sy / 4 + 0.5 * ay - 0.5
    matrix = np.asarray([[ax, 0.0, bx], [0.0, ay, by]], np.float32)
    moved = cv2.warpAffine(low_res.reshape(LOW_RES, LOW_RES).astype(np.float32), matrix, (LOW_RES, LOW_RES),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=OUTSIDE_LOGIT)
    return moved[None, None]


def work_region(view: Box, *, shape: tuple[int, int], work: tuple[int, int]) -> Box:
    """The view's box in the work-size map (the image resized to `work` = (height, width))."""
    kx, ky = work[1] / shape[1], work[0] / shape[0]
    x1, y1 = int(round(view.x1 * kx)), int(round(view.y1 * ky))
    return Box(x1, y1, max(x1 + 1, int(round(view.x2 * kx))), max(y1 + 1, int(round(view.y2 * ky))))


def logits_paste(view_logits: np.ndarray, *, region: Box, work: tuple[int, int]) -> np.ndarray:
    """A work-size logits map: the view's logits at `region`, OUTSIDE_LOGIT elsewhere."""
    out = np.full(work, OUTSIDE_LOGIT, np.float32)
    out[region.y1:region.y2, region.x1:region.x2] = view_logits
    return out


def reaches_inner_edge(view_logits: np.ndarray, *, view: Box, shape: tuple[int, int]) -> bool:
    """True when the selection touches a side of the crop that is not the image's border: it grows out of it."""
    height, width = shape
    selected = view_logits > 0
    return bool((view.x1 > 0 and selected[:, 0].any()) or (view.x2 < width and selected[:, -1].any())
                or (view.y1 > 0 and selected[0].any()) or (view.y2 < height and selected[-1].any()))
