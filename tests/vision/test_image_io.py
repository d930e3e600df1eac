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


# --- bounded work and memory ------------------------------------------------------------------

ALL_FORMATS = [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("AVIF", "avif")]


@pytest.mark.parametrize("fmt, ext", ALL_FORMATS)
def test_it_refuses_an_image_over_the_limit_from_its_header_without_decoding_a_pixel(tmp_path, monkeypatch, fmt, ext):
    path = saved(tmp_path, Image.new("RGB", (100, 80), (10, 200, 30)), f"big.{ext}", fmt)
    plugin = type(Image.open(path))

    def no_decode(self):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(plugin, "load", no_decode)
    for read in (image_probe, image_decode):
        with pytest.raises(ImageError, match="100×80 pixels") as caught:
            read(path, max_pixels=7_999)
        assert caught.value.too_large


def test_it_checks_a_png_without_decoding_its_pixels(tmp_path, monkeypatch):
    path = saved(tmp_path, Image.new("RGB", (300, 200), (10, 200, 30)), "p.png", "PNG")

    def no_decode(self):
        raise AssertionError("the probe decoded the whole PNG")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decode)
    info = image_probe(path, max_pixels=LIMIT)
    assert (info.format.name, info.width, info.height) == ("PNG", 300, 200)


def _load_sizes(monkeypatch, plugin) -> list:
    sizes = []
    real = plugin.load

    def spy(self):
        sizes.append(self.size)
        return real(self)

    monkeypatch.setattr(plugin, "load", spy)
    return sizes


def test_it_checks_a_big_jpeg_at_a_reduced_scale(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    path = saved(tmp_path, Image.new("RGB", (4000, 3000), (90, 90, 90)), "big.jpg", "JPEG")
    sizes = _load_sizes(monkeypatch, JpegImagePlugin.JpegImageFile)
    info = image_probe(path, max_pixels=LIMIT)
    assert (info.width, info.height) == (4000, 3000)
    assert sizes == [(500, 375)]  # 1/8 scale: every coefficient read, 1/64 of the pixels held


def tiny_jpeg_declaring(width: int, height: int) -> bytes:
    """A ~700-byte JPEG whose SOF marker claims width×height: the crafted-upload trick."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_tiny_jpeg_declaring_81_megapixels_is_checked_without_a_full_size_decode(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    path = tmp_path / "crafted.jpg"
    path.write_bytes(tiny_jpeg_declaring(9000, 9000))
    assert path.stat().st_size < 1000
    sizes = _load_sizes(monkeypatch, JpegImagePlugin.JpegImageFile)
    # libjpeg pads a short stream with grey, as browsers do: the file is accepted at its declared size...
    info = image_probe(path, max_pixels=100_000_000)
    assert (info.width, info.height) == (9000, 9000)
    # ...but checking it held 1,125 x 1,125 pixels (4 MB), not 9,000 x 9,000 (243 MB).
    assert sizes == [(1125, 1125)]


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, kind) of each chunk."""
    found, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        found.append((offset, kind))
        offset += 12 + length
    return found


@pytest.mark.parametrize("image, params", [
    (Image.new("RGB", (33, 17), (1, 2, 3)), {}),
    (Image.new("RGB", (33, 17), (1, 2, 3)), {"interlace": 1}),
    (Image.new("P", (9, 7), 3), {}),
    (Image.new("1", (13, 5), 1), {}),
    (Image.new("LA", (6, 6), (9, 200)), {}),
    (Image.new("I;16", (10, 3), 600), {}),
    (Image.new("RGBA", (5, 4), (1, 2, 3, 4)), {"interlace": 1}),
], ids=["rgb", "interlaced", "palette", "one-bit", "grey-alpha", "sixteen-bit", "interlaced-rgba"])
def test_the_png_check_accepts_what_pillow_decodes(tmp_path, image, params):
    path = tmp_path / "ok.png"
    path.write_bytes(png_bytes(image, **params))
    info = image_probe(path, max_pixels=LIMIT)
    assert (info.width, info.height) == image.size


def test_the_png_check_refuses_a_truncated_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        image_probe(path, max_pixels=LIMIT)


def test_the_png_check_refuses_pixels_that_inflate_short_of_the_header(tmp_path):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 9000, 9000, 8, 2, 0, 0, 0)
    # A 344 KB-style bomb: valid chunks, but the pixels stop after one row.
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1 + 27_000)))
            + chunk(b"IEND", b""))
    path = tmp_path / "short.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="fewer than"):
        image_probe(path, max_pixels=100_000_000)


def test_the_png_check_refuses_a_bad_checksum_and_damaged_compressed_pixels(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    offset = next(offset for offset, kind in png_chunks(data) if kind == b"IDAT")
    length = struct.unpack(">I", data[offset:offset + 4])[0]
    crc_at = offset + 8 + length
    bad_crc = bytearray(data)
    bad_crc[crc_at] ^= 0xFF
    (tmp_path / "crc.png").write_bytes(bytes(bad_crc))
    with pytest.raises(ImageError, match="checksum"):
        image_probe(tmp_path / "crc.png", max_pixels=LIMIT)
    damaged = bytearray(data)  # a flipped byte in the compressed pixels, under a CRC that matches it
    damaged[offset + 8 + length // 2] ^= 0xFF
    damaged[crc_at:crc_at + 4] = struct.pack(">I", zlib.crc32(bytes(damaged[offset + 4:crc_at])))
    (tmp_path / "zlib.png").write_bytes(bytes(damaged))
    with pytest.raises(ImageError, match="truncated or corrupt"):
        image_probe(tmp_path / "zlib.png", max_pixels=LIMIT)


def test_the_png_check_streams_one_idat_chunk_larger_than_its_read_block(tmp_path):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width, height = 800, 600
    rows = np.random.default_rng(4).integers(0, 256, (height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = 0  # filter type None on every row
    pixels = zlib.compress(rows.tobytes(), 1)
    assert len(pixels) > 1 << 20
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path = tmp_path / "one-chunk.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    assert (image_probe(path, max_pixels=LIMIT).width, image_load(path, max_pixels=LIMIT).shape) == (800, (600, 800, 3))


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("WEBP", "webp")])
def test_a_multi_frame_image_is_read_as_its_first_frame(tmp_path, fmt, ext):
    frames = [Image.new("RGB", (24, 16), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    path = tmp_path / f"anim.{ext}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert Image.open(path).n_frames == 3
    info = image_probe(path, max_pixels=LIMIT)
    assert (info.width, info.height) == (24, 16)
    pixels = image_load(path, max_pixels=LIMIT).astype(int)
    assert np.abs(pixels - (250, 0, 0)).max() < 10


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_the_probe_reports_the_upright_size_of_an_exif_rotated_image(tmp_path, fmt):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = saved(tmp_path, Image.new("RGB", (40, 20), (0, 0, 255)), f"turned.{fmt.lower()}", fmt, exif=exif)
    info = image_probe(path, max_pixels=LIMIT)
    assert (info.width, info.height) == (20, 40)
    assert image_load(path, max_pixels=LIMIT).shape[:2] == (info.height, info.width)


def test_a_bug_in_our_own_code_is_not_reported_as_a_corrupt_file(tmp_path, monkeypatch):
    from vision import image_io

    path = saved(tmp_path, Image.new("RGB", (8, 8)), "fine.png", "PNG")
    with pytest.raises(KeyError, match="our bug"):
        with image_io._image_open(path, max_pixels=LIMIT):
            raise KeyError("our bug")

    def broken_split(image):
        raise TypeError("our other bug")

    monkeypatch.setattr(image_io, "_channels_split", broken_split)
    with pytest.raises(TypeError, match="our other bug"):
        image_decode(path, max_pixels=LIMIT)


def test_full_decodes_run_one_at_a_time_in_a_process(tmp_path, monkeypatch):
    import threading

    from vision import image_io

    path = saved(tmp_path, Image.new("RGB", (64, 64)), "x.webp", "WEBP")
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    real = image_io._pixels_load

    def counting(image, fmt):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        real(image, fmt)
        with lock:
            state["now"] -= 1

    monkeypatch.setattr(image_io, "_pixels_load", counting)
    threads = [threading.Thread(target=read, args=(path,), kwargs={"max_pixels": LIMIT})
               for read in (image_probe, image_decode, image_probe, image_decode)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert state["most"] == image_io.DECODES_AT_ONCE == 1
