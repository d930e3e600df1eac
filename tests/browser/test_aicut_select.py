"""A user picks one object out of several with AI Cut (the server's SAM model) and exports it as a PNG."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.browser.test_editor import REMOVE_BG, SEGMENT, RequestLog, upload
from vision.aicut_robot import click_next, mask_iou

pytestmark = pytest.mark.browser

W, H = 960, 640


def still_life() -> tuple[bytes, np.ndarray, list[np.ndarray]]:
    """A table with three things on it: an orange, a mug and a plum; the JPEG, the mug's mask, all masks."""
    y, x = np.mgrid[0:H, 0:W]
    table = np.stack([180 + 30 * x / W, 160 + 20 * y / H, 130 + 0 * x], axis=-1)
    image = Image.fromarray(np.clip(table, 0, 255).astype("uint8"))
    layers = []
    for shape, box, colour in (
        ("ellipse", (110, 230, 330, 450), (235, 130, 30)),  # the orange: large, saturated, salient
        ("rectangle", (400, 200, 560, 460), (60, 110, 170)),  # the mug: the one the user wants
        ("ellipse", (640, 300, 800, 460), (110, 40, 90)),  # the plum
    ):
        layer = Image.new("L", (W, H), 0)
        draw = ImageDraw.Draw(layer)
        (draw.ellipse if shape == "ellipse" else draw.rectangle)(box, fill=255)
        image.paste(Image.new("RGB", (W, H), colour), mask=layer)
        layers.append(np.asarray(layer) > 127)
    # A highlight on the orange and a handle on the mug, so the shapes are not flat cut-outs.
    draw = ImageDraw.Draw(image)
    draw.ellipse((160, 270, 220, 320), fill=(250, 190, 110))
    draw.arc((530, 260, 610, 380), start=-90, end=90, fill=(60, 110, 170), width=18)
    mug = layers[1].copy()
    handle = Image.new("L", (W, H), 0)
    ImageDraw.Draw(handle).arc((530, 260, 610, 380), start=-90, end=90, fill=255, width=18)
    mug |= np.asarray(handle) > 127
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    rng = np.random.default_rng(5)
    pixels = np.clip(np.asarray(image).astype("int16") + rng.integers(-5, 6, (H, W, 3)), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92)
    return buffer.getvalue(), mug, layers


def test_a_user_selects_one_object_among_several_in_three_clicks_and_exports_it_as_a_transparent_png(
    signed_in, server, tmp_path, shot
):
    page = signed_in
    photo, mug, layers = still_life()
    truth = np.where(mug, 255, 0).astype(np.uint8)
    upload(page, tmp_path, name="still-life.jpg", data=photo)
    page.get_by_test_id("aicut-mode").click()
    page.locator("#aicut-preparing[hidden]").wait_for(state="attached")
    image = page.get_by_test_id("aicut-image")
    box = image.bounding_box()
    segments = RequestLog(page, SEGMENT)

    # The user clicks like the benchmark's robot: first the middle of the mug, then the worst error.
    mask = None
    for clicks in range(1, 4):
        point = click_next(mask=mask, truth=truth)
        position = {"x": (point.x + 0.5) * box["width"] / W, "y": (point.y + 0.5) * box["height"] / H}
        image.click(position=position, modifiers=[] if point.positive else ["Shift"])
        segments.wait_settled(page, clicks, timeout_s=300)  # the first click runs the encoder: slow on a busy box
        status = page.locator("#aicut-status", has_text=re.compile("selection ready|failed|Nothing selected"))
        status.wait_for()
        assert "selection ready" in status.inner_text(), segments.requests[-1].response().text()
        output = segments.bodies()[-1]["output_file_path"]
        mask = np.asarray(Image.open(io.BytesIO(server.file_bytes(output))).convert("L"))
        if mask_iou(mask=np.where(mask > 127, 255, 0), truth=truth) >= 0.9:
            break
    shot(page, "mug-selected")
    assert mask_iou(mask=np.where(mask > 127, 255, 0), truth=truth) >= 0.9, f"not the mug after {clicks} clicks"

    exports = RequestLog(page, REMOVE_BG)
    page.get_by_test_id("aicut-export").click()
    items = page.get_by_test_id("result-item")
    page.locator(".result--loaded").nth(0).wait_for()
    assert exports.bodies()[0]["mask_file_path"] == output
    png = items.nth(0)
    assert png.get_attribute("data-path").endswith(".png")
    with page.expect_download() as info:
        png.get_by_test_id("result-download").click()
    exported = Image.open(info.value.path())
    assert exported.mode == "RGBA" and exported.size == (W, H)
    alpha = np.asarray(exported)[..., 3]
    assert mask_iou(mask=np.where(alpha > 127, 255, 0), truth=truth) >= 0.9
    orange, _, plum = layers
    assert (alpha[orange] > 127).mean() < 0.01 and (alpha[plum] > 127).mean() < 0.01
    assert (alpha[~(mug | orange | plum)] > 127).mean() < 0.01, "the table stays transparent"
    shot(page, "mug-exported", full_page=True)
