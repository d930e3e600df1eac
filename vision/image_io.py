"""Image decoding rules: which bytes count as an accepted image, and how they are read."""
from __future__ import annotations

import functools
import io
import math
import struct
import threading
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageCms, ImageOps

from vision.png_check import PngBroken, png_check


class ImageError(Exception):
    """The bytes are not an image we accept; `reason` is a sentence for the caller."""

    def __init__(self, reason: str, *, too_large: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


@dataclass(frozen=True)
class ImageFormat:
    name: str  # Pillow's format name
    content_type: str
    extension: str


FORMATS = {
    "JPEG": ImageFormat("JPEG", "image/jpeg", "jpg"),
    "PNG": ImageFormat("PNG", "image/png", "png"),
    "WEBP": ImageFormat("WEBP", "image/webp", "webp"),
    "AVIF": ImageFormat("AVIF", "image/avif", "avif"),
}


@dataclass(frozen=True)
class ImageInfo:
    format: ImageFormat
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """Pixels ready for a model: sRGB uint8 HxWx3, plus the file's own alpha (float32 HxW) if it had one.

    `rgb` of an image with transparency is composited on white (what a person sees in a viewer, and
    what salient models were trained on); `alpha` keeps the original transparency so a caller can
    intersect it with the predicted one (already-transparent pixels stay transparent).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: ImageFormat


def format_sniff(head: bytes) -> ImageFormat | None:
    """The accepted format the first bytes announce, or None; never trusts a file name."""
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return FORMATS["AVIF"]
    return None


# Full-resolution decodes running at once in this process, whichever request asked: with the pixel
# limit this bounds the memory decoding can take, however many uploads and tools arrive together.
# One: Pillow's WebP decoder holds ~15 bytes a pixel (AVIF ~9, JPEG and PNG 3-4) while it runs, and
# the probes of the common formats no longer need a slot, so a queue here is rare and short.
DECODES_AT_ONCE = 1
_decode_slots = threading.BoundedSemaphore(DECODES_AT_ONCE)
# What Pillow raises on damaged data. Kept to Pillow's calls on the file: an error in our own code
# must surface as the bug it is, not as a 415 "corrupt file".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error, zlib.error)
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}  # EXIF orientations whose upright image swaps width and height


@contextmanager
def _decoding(fmt: ImageFormat) -> Iterator[None]:
    """Pillow's errors on the file's data, raised in the block, become ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError("The image has too many pixels to decode safely.", too_large=True) from error
    except _DECODE_ERRORS as error:
        raise ImageError(
            f"The file looks like {fmt.name} but could not be decoded: it is truncated or corrupt."
        ) from error


@contextmanager
def _image_open(path: Path, *, max_pixels: int) -> Iterator[tuple[Image.Image, ImageFormat]]:
    """Open `path` lazily after the size check: a decompression bomb is refused from its header alone.

    Pillow reads only the header here, for every accepted format (JPEG up to its SOF marker, PNG up to
    the first IDAT, WebP and AVIF their container boxes), so the declared size is known before any
    pixel is decoded. A multi-frame file (APNG, animated WebP, AVIF sequence) is read as its first frame.
    """
    with open(path, "rb") as handle:
        fmt = format_sniff(handle.read(32))
    if fmt is None:
        raise ImageError("The file is not a JPEG, PNG, WebP or AVIF image.")
    with _decoding(fmt):
        image = Image.open(path, formats=[fmt.name])
    try:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"The image is {width}×{height} pixels; the limit is {max_pixels:,} pixels in all.",
                too_large=True,
            )
        yield image, fmt
    finally:
        image.close()


def _pixels_load(image: Image.Image, fmt: ImageFormat) -> None:
    """Decode the pixels (of the first frame); callers hold a decode slot while they hold them."""
    with _decoding(fmt):
        image.load()


def image_probe(path: Path, *, max_pixels: int) -> ImageInfo:
    """Check that `path` holds a whole JPEG/PNG/WebP/AVIF image; return its format and upright size.

    The header is checked against `max_pixels` before any pixel is decoded. The data is then checked
    without holding the full-resolution pixels where the format allows: a JPEG decodes at a reduced
    DCT scale (every coefficient is still read), a PNG's compressed pixels are inflated in blocks
    and counted (vision/png_check.py). WebP and AVIF decode whole, under the decode gate. The size
    is the upright one (EXIF orientation applied), as image_decode returns it.
    """
    with _image_open(path, max_pixels=max_pixels) as (image, fmt):
        width, height = image.size
        if fmt.name == "PNG":
            try:
                facts = png_check(Path(path))
            except PngBroken as error:
                raise ImageError(
                    f"The file looks like PNG but could not be decoded: it is truncated or corrupt ({error})."
                ) from error
            orientation = _exif_orientation(facts.exif, fmt)
        else:
            if fmt.name == "JPEG":
                image.draft(None, (1, 1))  # libjpeg's smallest scale, 1/8: every coefficient is still read
            with _decode_slots:
                _pixels_load(image, fmt)
            with _decoding(fmt):
                orientation = image.getexif().get(_EXIF_ORIENTATION)
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return ImageInfo(format=fmt, width=width, height=height)


def _exif_orientation(exif: bytes | None, fmt: ImageFormat) -> int | None:
    if not exif:
        return None
    with _decoding(fmt):
        parsed = Image.Exif()
        parsed.load(exif)
        return parsed.get(_EXIF_ORIENTATION)


def image_decode(path: Path, *, max_pixels: int, needed_pixels: int | None = None) -> DecodedImage:
    """Decode `path` to upright sRGB pixels, refusing bombs and broken files with ImageError.

    `needed_pixels` (the largest output the caller will make) lets a huge JPEG decode at 1/2, 1/4
    or 1/8 scale, but only to a size that still has at least that many pixels. Pass None when a
    variant autocrops: a crop of a reduced image would have fewer pixels than asked for.
    """
    with _decode_slots, _image_open(path, max_pixels=max_pixels) as (image, fmt):
        if fmt.name == "JPEG" and needed_pixels is not None:
            _jpeg_draft(image, needed_pixels=needed_pixels)
        _pixels_load(image, fmt)
        icc = image.info.get("icc_profile")
        with _decoding(fmt):
            ImageOps.exif_transpose(image, in_place=True)
        colour, alpha = _channels_split(image)
        rgb = _srgb_convert(colour, icc=icc)
        rgb_array = np.asarray(rgb, dtype=np.uint8)
        alpha_array = None if alpha is None else np.asarray(alpha, dtype=np.uint8)
    if alpha_array is not None and alpha_array.min() == 255:
        alpha_array = None  # an opaque alpha channel carries nothing; dropping it saves work later
    if alpha_array is None:
        return DecodedImage(rgb=rgb_array, alpha=None, format=fmt)
    return DecodedImage(
        rgb=_white_composite(rgb_array, alpha_array),
        alpha=alpha_array.astype(np.float32) / np.float32(255),
        format=fmt,
    )


def image_load(path: Path, *, max_pixels: int, needed_pixels: int | None = None) -> np.ndarray:
    """Upright sRGB uint8 HxWx3 pixels of `path` (transparency composited on white); see image_decode."""
    return image_decode(path, max_pixels=max_pixels, needed_pixels=needed_pixels).rgb


def mask_load(path: Path, *, width: int, height: int, max_pixels: int) -> np.ndarray:
    """A stored mask as float32 HxW alpha in [0, 1], resized to width×height (white = selected).

    A mask with real transparency (e.g. a cutout PNG) is read from its alpha channel, any other
    from its grey level; a mask whose shape does not match the image's is refused.
    """
    with _decode_slots, _image_open(path, max_pixels=max_pixels) as (image, fmt):
        _pixels_load(image, fmt)
        with _decoding(fmt):
            ImageOps.exif_transpose(image, in_place=True)
        colour, alpha = _channels_split(image)
        if alpha is not None and np.asarray(alpha).min() < 255:
            grey = alpha
        else:
            grey = colour if colour.mode == "L" else colour.convert("L")
        mask_width, mask_height = grey.size
        # A 1-pixel rounding either way is normal for masks made at another scale; more is a wrong file.
        if abs(mask_width * height - mask_height * width) > max(width, height, mask_width, mask_height):
            raise ImageError(
                f"The mask is {mask_width}×{mask_height} pixels but the image is {width}×{height}: "
                "their shapes differ."
            )
        if grey.size != (width, height):
            grey = grey.resize((width, height), Image.Resampling.BILINEAR)
        values = np.asarray(grey, dtype=np.uint8)
    mask = values.astype(np.float32) / np.float32(255)
    # JPEG masks carry compression noise (3, 252, ...); snapping it keeps the background fully
    # transparent and the subject fully opaque instead of faintly speckled.
    mask[values <= 3] = 0.0
    mask[values >= 252] = 1.0
    return mask


def _jpeg_draft(image: Image.Image, *, needed_pixels: int) -> None:
    """Let libjpeg decode at a reduced DCT scale when the result still has `needed_pixels`."""
    width, height = image.size
    if width * height <= needed_pixels:
        return
    scale = math.sqrt(needed_pixels / (width * height))
    # draft() picks the smallest scale whose size is at least the one asked for, in both sides.
    image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))


_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "La", "RGBa"}


def _channels_split(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Split any Pillow mode into a colour image (L, RGB or CMYK) and an 8-bit alpha (or None)."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        return _grey_eight_bit(image), None
    if mode == "1":
        return image.convert("L"), None
    if mode == "P":
        has_alpha = "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
    elif mode in ("L", "RGB") and "transparency" in image.info:
        image = image.convert("LA" if mode == "L" else "RGBA")
        mode = image.mode
    if mode in _ALPHA_MODES:
        if mode in ("PA", "La", "RGBa"):
            image = image.convert("RGBA")
        alpha = image.getchannel("A")
        colour = image.convert("L" if image.mode == "LA" else "RGB")
        return colour, alpha
    if mode in ("L", "RGB", "CMYK"):
        return image, None
    return image.convert("RGB"), None


def _grey_eight_bit(image: Image.Image) -> Image.Image:
    """16-bit and float greys to 8 bits by scaling (Pillow's own convert clips everything above 255)."""
    values = np.asarray(image)
    if image.mode == "F":
        # Float images have no fixed range in the wild: [0, 1] if they fit, else [0, 255].
        top = 1.0 if float(np.nanmax(values, initial=0.0)) <= 1.0 else 255.0
        scaled = np.nan_to_num(values) * (255.0 / top)
    else:
        scaled = values.astype(np.float32) / np.float32(257)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _srgb_convert(colour: Image.Image, *, icc: bytes | None) -> Image.Image:
    """Colour-manage `colour` (L, RGB or CMYK) from its embedded profile into sRGB RGB."""
    if icc:
        transform = _icc_transform(icc, colour.mode)
        if transform is not None:
            try:
                return ImageCms.applyTransform(colour, transform)
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass  # a profile that lies about its data is ignored, as browsers do
    return colour if colour.mode == "RGB" else colour.convert("RGB")


_PROFILE_SPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


@functools.lru_cache(maxsize=16)
def _icc_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached profile → sRGB transform for `mode`, or None when the profile is unusable or already sRGB."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    space = source.profile.xcolor_space.strip()
    if space != _PROFILE_SPACES.get(mode):
        return None
    if space == "RGB" and "srgb" in (source.profile.profile_description or "").lower():
        return None  # already sRGB: skip a no-op transform that costs ~0.1 s on 12 MP
    try:
        return ImageCms.buildTransform(
            source, _srgb_profile(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _white_composite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`rgb` over white, weighted by 8-bit `alpha`, in integer arithmetic (no float copy of the image)."""
    weight = alpha[..., None].astype(np.uint16)
    blended = rgb * weight + 255 * (255 - weight) + 127
    return (blended // 255).astype(np.uint8)
