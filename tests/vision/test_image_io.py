"""Decoding rules: orientation, modes, colour profiles, broken files and decompression bombs."""
import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from vision.image_io import ImageError, image_decode, image_load, image_probe, mask_load

LIMIT = 25_000_000


def saved(tmp_path, image: Image.Image, name: str, fmt: str, **params):
    path = tmp_path / name
    image.save(path, fmt, **params)
    return path


def rgb_profile(*, red, green, blue, name=b"Swapped primaries"):
    """A minimal ICC v2 matrix/TRC RGB profile with linear curves and the given D50 colorants."""

    def xyz(values):
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + b"\0" + bytes(4 + 4 + 2 + 1 + 67)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\0\0\0\0none\0\0\0\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + bytes(12) + b"acsp" + bytes(28)
        + struct.pack(">iii", round(0.9642 * 65536), 65536, round(0.8249 * 65536))
    )
    header += bytes(128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def png_header_only(width, height):
    """A PNG whose header claims width×height but holds no pixel data at all."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# --- orientation and modes ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_it_turns_the_image_upright_from_its_exif_orientation(tmp_path, fmt):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a quarter turn clockwise
    path = saved(tmp_path, image, f"turned.{fmt.lower()}", fmt, quality=95, exif=exif)
    pixels = image_load(path, max_pixels=LIMIT).astype(int)
    assert pixels.shape == (40, 20, 3)
    assert np.abs(pixels[5, 10] - (255, 0, 0)).max() < 20  # the left half is now on top
    assert np.abs(pixels[35, 10] - (0, 0, 255)).max() < 20


def test_it_converts_cmyk_to_rgb(tmp_path):
    path = saved(tmp_path, Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "cmyk.jpg", "JPEG", quality=95)
    pixels = image_load(path, max_pixels=LIMIT).astype(int)
    assert pixels.shape == (16, 16, 3) and np.abs(pixels[8, 8] - (255, 0, 0)).max() < 10


def test_it_reads_greyscale_as_three_equal_channels(tmp_path):
    path = saved(tmp_path, Image.new("L", (8, 6), 77), "grey.png", "PNG")
    pixels = image_load(path, max_pixels=LIMIT)
    assert pixels.shape == (6, 8, 3) and pixels.dtype == np.uint8 and (pixels == 77).all()


def test_it_scales_sixteen_bit_grey_instead_of_clipping_it(tmp_path):
    values = np.array([[0, 32896, 65535, 1000]], np.uint16)
    path = saved(tmp_path, Image.fromarray(values), "deep.png", "PNG")
    assert Image.open(path).mode.startswith("I")
    pixels = image_load(path, max_pixels=LIMIT)
    assert pixels[0, :, 0].tolist() == [0, 128, 255, 4]


def test_it_composites_a_transparent_palette_on_white_and_keeps_its_alpha(tmp_path):
    image = Image.new("P", (4, 2), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((3, 1), 1)
    path = saved(tmp_path, image, "palette.png", "PNG", transparency=0)
    decoded = image_decode(path, max_pixels=LIMIT)
    assert decoded.rgb[0, 0].tolist() == [255, 255, 255]
    assert decoded.rgb[1, 3].tolist() == [0, 255, 0]
    assert decoded.alpha is not None and decoded.alpha.dtype == np.float32
    assert decoded.alpha[0, 0] == 0.0 and decoded.alpha[1, 3] == 1.0


def test_it_composites_half_transparent_rgba_on_white(tmp_path):
    path = saved(tmp_path, Image.new("RGBA", (4, 4), (0, 0, 0, 128)), "half.png", "PNG")
    decoded = image_decode(path, max_pixels=LIMIT)
    assert decoded.rgb[0, 0].tolist() == [127, 127, 127]
    assert abs(decoded.alpha[0, 0] - 128 / 255) < 1e-6


def test_it_reads_grey_with_alpha(tmp_path):
    path = saved(tmp_path, Image.new("LA", (3, 3), (0, 0)), "la.png", "PNG")
    decoded = image_decode(path, max_pixels=LIMIT)
    assert (decoded.rgb == 255).all() and (decoded.alpha == 0).all()


def test_it_drops_an_alpha_channel_that_is_fully_opaque(tmp_path):
    path = saved(tmp_path, Image.new("RGBA", (3, 3), (10, 20, 30, 255)), "opaque.png", "PNG")
    decoded = image_decode(path, max_pixels=LIMIT)
    assert decoded.alpha is None and decoded.rgb[1, 1].tolist() == [10, 20, 30]


# --- colour profiles ------------------------------------------------------------------------


def test_it_converts_an_embedded_profile_to_srgb(tmp_path):
    icc = rgb_profile(red=SRGB_BLUE, green=SRGB_GREEN, blue=SRGB_RED)
    image = Image.new("RGB", (8, 8), (255, 0, 0))
    image.paste((0, 255, 0), (0, 0, 4, 8))
    path = saved(tmp_path, image, "swapped.png", "PNG", icc_profile=icc)
    pixels = image_load(path, max_pixels=LIMIT).astype(int)
    # "Red" in this profile is sRGB's blue primary; green is green in both.
    assert np.abs(pixels[4, 6] - (0, 0, 255)).max() <= 4
    assert np.abs(pixels[4, 1] - (0, 255, 0)).max() <= 4


def test_it_converts_an_embedded_profile_in_a_jpeg(tmp_path):
    icc = rgb_profile(red=SRGB_BLUE, green=SRGB_GREEN, blue=SRGB_RED)
    path = saved(tmp_path, Image.new("RGB", (16, 16), (255, 0, 0)), "swapped.jpg", "JPEG", quality=95, icc_profile=icc)
    pixels = image_load(path, max_pixels=LIMIT).astype(int)
    assert np.abs(pixels[8, 8] - (0, 0, 255)).max() <= 12


def test_it_ignores_a_profile_that_does_not_fit_the_pixels(tmp_path):
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    path = saved(tmp_path, Image.new("RGB", (4, 4), (200, 100, 50)), "lab.png", "PNG", icc_profile=lab)
    assert image_load(path, max_pixels=LIMIT)[0, 0].tolist() == [200, 100, 50]


def test_it_ignores_a_corrupt_profile(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (4, 4), (200, 100, 50)), "junk.png", "PNG", icc_profile=b"junk" * 40)
    assert image_load(path, max_pixels=LIMIT)[0, 0].tolist() == [200, 100, 50]


# --- formats, broken files and bombs --------------------------------------------------------


@pytest.mark.parametrize("fmt, name", [("WEBP", "photo.webp"), ("AVIF", "photo.avif")])
def test_it_round_trips_webp_and_avif(tmp_path, fmt, name):
    path = saved(tmp_path, Image.new("RGB", (32, 24), (30, 140, 220)), name, fmt, quality=95)
    decoded = image_decode(path, max_pixels=LIMIT)
    assert decoded.format.name == fmt and decoded.rgb.shape == (24, 32, 3)
    assert np.abs(decoded.rgb[12, 16].astype(int) - (30, 140, 220)).max() <= 8


def test_it_keeps_the_alpha_of_a_webp(tmp_path):
    path = saved(tmp_path, Image.new("RGBA", (8, 8), (30, 140, 220, 0)), "clear.webp", "WEBP", lossless=True)
    decoded = image_decode(path, max_pixels=LIMIT)
    assert decoded.alpha is not None and decoded.alpha.max() == 0.0


def test_it_refuses_a_truncated_jpeg(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as caught:
        image_load(path, max_pixels=LIMIT)
    assert not caught.value.too_large


def test_it_refuses_text_named_like_a_jpeg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"these are not pixels\n" * 10)
    with pytest.raises(ImageError, match="not a JPEG, PNG, WebP or AVIF"):
        image_load(path, max_pixels=LIMIT)


@pytest.mark.parametrize("max_pixels", [LIMIT, 10**12])
def test_it_refuses_a_decompression_bomb_from_its_header_alone(tmp_path, max_pixels):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))
    start = time.perf_counter()
    for read in (image_load, image_probe):
        with pytest.raises(ImageError) as caught:
            read(path, max_pixels=max_pixels)
        assert caught.value.too_large
    assert time.perf_counter() - start < 1.0


def test_it_names_the_size_and_limit_of_an_image_over_the_limit(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (100, 50)), "big.png", "PNG")
    with pytest.raises(ImageError, match="100×50 pixels; the limit is 4,999") as caught:
        image_load(path, max_pixels=4_999)
    assert caught.value.too_large


def test_it_decodes_a_huge_jpeg_smaller_only_down_to_the_pixels_needed(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (2000, 1000), (90, 90, 90)), "wide.jpg", "JPEG")
    assert image_load(path, max_pixels=LIMIT).shape == (1000, 2000, 3)
    assert image_load(path, max_pixels=LIMIT, needed_pixels=500_000).shape == (500, 1000, 3)
    assert image_load(path, max_pixels=LIMIT, needed_pixels=500_001).shape == (1000, 2000, 3)
    assert image_load(path, max_pixels=LIMIT, needed_pixels=31_250).shape == (125, 250, 3)


def test_it_probes_format_and_size_without_keeping_pixels(tmp_path):
    info = image_probe(saved(tmp_path, Image.new("RGB", (30, 20)), "x.webp", "WEBP"), max_pixels=LIMIT)
    assert (info.format.name, info.width, info.height) == ("WEBP", 30, 20)


# --- stored masks ---------------------------------------------------------------------------


def test_it_loads_a_jpeg_mask_resized_to_the_image_with_clean_extremes(tmp_path):
    mask = Image.new("L", (100, 50), 0)
    mask.paste(255, (20, 10, 60, 40))
    path = saved(tmp_path, mask, "mask.jpg", "JPEG", quality=75)
    alpha = mask_load(path, width=200, height=100, max_pixels=LIMIT)
    assert alpha.shape == (100, 200) and alpha.dtype == np.float32
    assert alpha[50, 80] == 1.0 and alpha[5, 5] == 0.0 and alpha[95, 195] == 0.0
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0


def test_it_reads_a_cutout_png_mask_from_its_alpha_channel(tmp_path):
    cutout = Image.new("RGBA", (10, 10), (255, 255, 255, 0))
    cutout.paste((0, 0, 0, 255), (0, 0, 5, 10))  # a dark subject: its grey level would say "not selected"
    alpha = mask_load(saved(tmp_path, cutout, "cut.png", "PNG"), width=10, height=10, max_pixels=LIMIT)
    assert alpha[5, 2] == 1.0 and alpha[5, 8] == 0.0


def test_it_reads_a_colour_mask_by_its_grey_level(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (4, 4), (128, 128, 128)), "grey.webp", "WEBP", lossless=True)
    alpha = mask_load(path, width=4, height=4, max_pixels=LIMIT)
    assert np.allclose(alpha, 128 / 255)


def test_it_refuses_a_mask_whose_shape_differs_from_the_image(tmp_path):
    path = saved(tmp_path, Image.new("L", (100, 50), 255), "tall.png", "PNG")
    with pytest.raises(ImageError, match="100×50 pixels but the image is 50×100"):
        mask_load(path, width=50, height=100, max_pixels=LIMIT)


def test_it_refuses_a_mask_that_is_not_an_image(tmp_path):
    path = tmp_path / "mask.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * 50)
    with pytest.raises(ImageError):
        mask_load(path, width=10, height=10, max_pixels=LIMIT)
