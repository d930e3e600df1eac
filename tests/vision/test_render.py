"""Golden tests for output variants: synthetic pixels and alpha, no model involved."""
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from vision.render import (
    Variant,
    color_parse,
    cutout_prepare,
    cutout_render,
    variant_render,
    variants_render,
)
from vision.render import _png_encode

RED = (200, 30, 30)
GREEN = (20, 200, 40)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def scene(width=200, height=100):
    """A red 80×40 block at (50, 20) with a half-transparent column right of it, on green."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = GREEN
    alpha = np.zeros((height, width), np.float32)
    alpha[20:60, 50:130] = 1.0
    image[20:60, 50:130] = RED
    alpha[20:60, 130] = 0.5
    image[20:60, 130] = [(r + g) // 2 for r, g in zip(RED, GREEN, strict=True)]
    return image, alpha


def soft_disc(size=300, radius=100, edge=8.0):
    """A red disc with a soft edge composited on flat green, and its exact alpha."""
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((radius - distance) / edge + 0.5, 0, 1).astype(np.float32)
    composite = alpha[..., None] * np.array(RED) + (1 - alpha[..., None]) * np.array(GREEN)
    return np.rint(composite).astype(np.uint8), alpha


# --- colours and variants -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("#fff", (255, 255, 255, 255)),
        ("#0a0B0c", (10, 11, 12, 255)),
        ("#ffffff80", (255, 255, 255, 128)),
        ("#12345600", (0x12, 0x34, 0x56, 0)),
    ],
)
def test_it_parses_the_three_colour_forms(text, expected):
    assert color_parse(text) == expected


@pytest.mark.parametrize("text", ["fff", "#ffff", "#fffffff", "#ggg", "red", "#ffffff ", "", None, 255])
def test_it_rejects_a_malformed_colour_naming_the_field(text):
    with pytest.raises(ValueError, match="background_color"):
        color_parse(text)


def test_it_gives_the_spec_defaults_and_normalises_jpg():
    variant = Variant()
    assert (variant.format, variant.max_resolution, variant.background_color) == ("png", 12_000_000, None)
    assert (variant.output_compression, variant.autocrop) == (85, False)
    jpg = Variant(format="JPG")
    assert (jpg.format, jpg.extension, jpg.content_type) == ("jpeg", "jpg", "image/jpeg")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"format": "gif"}, "format"),
        ({"max_resolution": 4095}, "max_resolution"),
        ({"max_resolution": 25_000_001}, "max_resolution"),
        ({"max_resolution": 5000.0}, "max_resolution"),
        ({"output_compression": 0}, "output_compression"),
        ({"output_compression": 101}, "output_compression"),
        ({"output_compression": True}, "output_compression"),
        ({"autocrop": "yes"}, "autocrop"),
        ({"background_color": (255, 255, 255)}, "background_color"),
        ({"format": "jpeg", "background_color": (255, 255, 255, 128)}, "background_color"),
    ],
)
def test_it_rejects_an_invalid_variant_naming_the_field(fields, field):
    with pytest.raises(ValueError, match=field):
        Variant(**fields)


def test_it_accepts_an_opaque_colour_for_jpeg():
    assert Variant(format="jpeg", background_color=(0, 0, 0, 255)).background_color == (0, 0, 0, 255)


# --- rendering -----------------------------------------------------------------------------


def test_it_renders_a_transparent_png_keeping_colours_and_alpha():
    image, alpha = scene()
    png = decode(variant_render(image=image, alpha=alpha, variant=Variant()))
    assert png.format == "PNG" and png.mode == "RGBA" and png.size == (200, 100)
    pixels = np.asarray(png)
    assert tuple(pixels[40, 90]) == (*RED, 255)
    assert pixels[5, 5, 3] == 0 and pixels[90, 190, 3] == 0
    assert pixels[40, 130, 3] in (127, 128)


def test_it_never_upscales():
    image, alpha = scene()
    png = decode(variant_render(image=image, alpha=alpha, variant=Variant(max_resolution=25_000_000)))
    assert png.size == (200, 100)


def test_it_downscales_proportionally_within_max_resolution():
    image, alpha = scene(width=400, height=300)
    png = decode(variant_render(image=image, alpha=alpha, variant=Variant(max_resolution=30_000)))
    assert png.size == (200, 150)
    odd = decode(variant_render(image=image, alpha=alpha, variant=Variant(max_resolution=4_096)))
    width, height = odd.size
    assert width * height <= 4_096 and abs(width / height - 4 / 3) < 0.03 and width * height > 3_900


def test_it_fills_jpeg_with_white_when_no_colour_is_given():
    image, alpha = scene()
    jpeg = decode(variant_render(image=image, alpha=alpha, variant=Variant(format="jpeg")))
    assert jpeg.format == "JPEG" and jpeg.mode == "RGB" and jpeg.size == (200, 100)
    pixels = np.asarray(jpeg).astype(int)
    assert np.abs(pixels[5, 5] - 255).max() <= 3
    assert np.abs(pixels[40, 90] - RED).max() <= 8


def test_it_composites_on_an_opaque_colour_without_an_alpha_channel():
    image, alpha = scene()
    variant = Variant(background_color=color_parse("#0000ff"))
    png = decode(variant_render(image=image, alpha=alpha, variant=variant))
    assert png.mode == "RGB"
    pixels = np.asarray(png).astype(int)
    assert tuple(pixels[5, 5]) == (0, 0, 255)
    assert tuple(pixels[40, 90]) == RED
    # The half-transparent column is half subject colour, half blue: no green left in it.
    assert np.abs(pixels[40, 130] - [100, 15, 142]).max() <= 3


def test_it_lays_the_subject_over_a_translucent_colour():
    image, alpha = scene()
    variant = Variant(format="png", background_color=color_parse("#ff000080"))
    pixels = np.asarray(decode(variant_render(image=image, alpha=alpha, variant=variant))).astype(int)
    assert tuple(pixels[5, 5]) == (255, 0, 0, 128)
    assert tuple(pixels[40, 90]) == (*RED, 255)
    # Porter-Duff over: alpha 0.5 + 0.5 × 128/255 ≈ 0.75.
    assert abs(pixels[40, 130, 3] - 192) <= 1


def test_it_crops_tightly_to_the_subject_ignoring_faint_noise():
    image, alpha = scene()
    alpha[alpha == 0] = 0.02  # model noise well under the threshold
    png = decode(variant_render(image=image, alpha=alpha, variant=Variant(autocrop=True)))
    assert png.size == (81, 40)  # the block plus its half-transparent column
    pixels = np.asarray(png)
    assert tuple(pixels[0, 0]) == (*RED, 255) and pixels[0, 80, 3] in (127, 128)


def test_it_applies_max_resolution_to_the_cropped_subject():
    image, alpha = scene()
    variant = Variant(autocrop=True, max_resolution=4096, format="webp")
    webp = decode(variant_render(image=image, alpha=alpha, variant=variant))
    assert webp.size == (81, 40)  # 3,240 pixels: already under the limit, kept


def test_it_keeps_the_whole_transparent_frame_when_autocropping_an_empty_alpha():
    image, alpha = scene()
    png = decode(variant_render(image=image, alpha=np.zeros_like(alpha), variant=Variant(autocrop=True)))
    assert png.size == (200, 100)
    assert np.asarray(png)[..., 3].max() == 0


def test_it_writes_webp_and_avif_with_alpha():
    image, alpha = scene()
    for fmt in ("webp", "avif"):
        decoded = decode(variant_render(image=image, alpha=alpha, variant=Variant(format=fmt)))
        assert decoded.format == fmt.upper() and decoded.mode == "RGBA" and decoded.size == (200, 100)
        pixels = np.asarray(decoded).astype(int)
        assert pixels[5, 5, 3] <= 3 and pixels[40, 90, 3] >= 252
        assert np.abs(pixels[40, 90, :3] - RED).max() <= 12


def test_it_uses_output_compression_for_lossy_formats():
    image, alpha = soft_disc()
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    for fmt in ("jpeg", "webp", "avif"):
        low = variant_render(image=noisy, alpha=alpha, variant=Variant(format=fmt, output_compression=10))
        high = variant_render(image=noisy, alpha=alpha, variant=Variant(format=fmt, output_compression=95))
        assert len(low) < len(high) / 2, fmt


def test_it_leaves_no_halo_of_the_old_background_on_a_new_colour():
    image, alpha = soft_disc()
    white = Variant(background_color=(255, 255, 255, 255))
    out = np.asarray(decode(variant_render(image=image, alpha=alpha, variant=white))).astype(float)
    expected = alpha[..., None] * np.array(RED) + (1 - alpha[..., None]) * 255
    naive = alpha[..., None] * image + (1 - alpha[..., None]) * 255
    edge = (alpha > 0.02) & (alpha < 0.98)
    assert np.abs(naive - expected)[edge].max() > 30  # the test would catch a plain composite
    assert np.abs(out - expected)[edge].max() <= 6
    assert np.abs(out - expected)[edge][:, 1].mean() <= 1.5  # green channel: the old background


def test_it_leaves_no_dark_fringe_after_a_strong_downscale():
    image, alpha = soft_disc(size=800, radius=280)
    variant = Variant(background_color=(255, 255, 255, 255), max_resolution=4096)
    out = np.asarray(decode(variant_render(image=image, alpha=alpha, variant=variant))).astype(np.float32)
    exact = (alpha[..., None] * np.array(RED) + (1 - alpha[..., None]) * 255).astype(np.float32)
    expected = cv2.resize(exact, out.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert out.shape == (64, 64, 3) and np.abs(out - expected).max() <= 4


def test_it_renders_every_variant_from_one_preparation_as_it_would_alone():
    image, alpha = scene()
    variants = [Variant(), Variant(format="webp", max_resolution=5000), Variant(format="jpeg", autocrop=True)]
    together = variants_render(image=image, alpha=alpha, variants=variants)
    alone = [variant_render(image=image, alpha=alpha, variant=v) for v in variants]
    assert together == alone


def test_it_leaves_its_inputs_untouched():
    image, alpha = soft_disc()
    image_before, alpha_before = image.copy(), alpha.copy()
    cutout = cutout_prepare(image=image, alpha=alpha)
    for variant in (Variant(), Variant(background_color=(1, 2, 3, 100)), Variant(format="jpeg", autocrop=True)):
        cutout_render(cutout=cutout, variant=variant)
    assert np.array_equal(image, image_before) and np.array_equal(alpha, alpha_before)


def test_it_refuses_mismatched_image_and_alpha():
    image, alpha = scene()
    with pytest.raises(ValueError, match="alpha"):
        cutout_prepare(image=image, alpha=alpha[:50])
    with pytest.raises(ValueError, match="image"):
        cutout_prepare(image=image[..., :1], alpha=alpha)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 4), (2_500, 600, 4)])
def test_its_png_writer_is_lossless(shape):
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    decoded = decode(_png_encode(pixels))
    assert decoded.mode == ("RGBA" if shape[2] == 4 else "RGB")
    assert np.array_equal(np.asarray(decoded), pixels)


def test_it_clamps_an_alpha_outside_zero_to_one():
    image = np.zeros((1, 4, 3), np.uint8)
    alpha = np.array([[-0.5, np.nan, 0.5, 2.0]], np.float32)
    assert cutout_prepare(image=image, alpha=alpha).alpha.tolist() == [[0, 0, 128, 255]]


def test_a_blurred_photo_background_keeps_the_subject_and_softens_the_photo_around_it():
    image, alpha = scene()
    image[:, :25] = (0, 0, 255)  # a hard blue edge far from the subject: blurring must soften it
    out = np.asarray(decode(variant_render(image=image, alpha=alpha,
                                           variant=Variant(format="png", background_blur=50))))
    assert out.shape == (100, 200, 3), "a blurred photo is an opaque background"
    assert tuple(out[40, 90]) == pytest.approx(RED, abs=3)
    # Left of the blue edge was pure blue, right of it pure green: now they run into each other.
    assert 0 < out[50, 24][2] < 255 and 0 < out[50, 26][1] < 200
    assert tuple(out[50, 180]) == pytest.approx(GREEN, abs=6)


def test_a_background_image_covers_the_output_whatever_its_shape():
    image, alpha = scene()
    backdrop = np.zeros((50, 50, 3), np.uint8)
    backdrop[:] = (10, 20, 250)
    cutout = cutout_prepare(image=image, alpha=alpha)
    out = np.asarray(decode(cutout_render(cutout=cutout, variant=Variant(format="png", max_resolution=5000),
                                          backdrop=backdrop)))
    assert out.shape[2] == 3 and out.shape[0] * out.shape[1] <= 5000
    assert tuple(out[2, 2]) == pytest.approx((10, 20, 250), abs=3)
    assert tuple(out[out.shape[0] // 2, out.shape[1] // 2]) == pytest.approx(RED, abs=4)


def test_a_blur_with_a_colour_is_refused():
    with pytest.raises(ValueError, match="choose one background"):
        Variant(background_blur=10, background_color=(0, 0, 0, 255))
