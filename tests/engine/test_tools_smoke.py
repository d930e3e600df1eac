import io

import pytest
from PIL import Image

from tests.images import upload_file

pytestmark = [pytest.mark.django_db, pytest.mark.model]


def photo_bytes():
    image = Image.new("RGB", (320, 240), (40, 120, 200))
    for x in range(100, 220):
        for y in range(60, 200):
            image.putpixel((x, y), (230, 60, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_remove_bg_and_ai_cut_through_the_api(acme, u2netp_everywhere):
    _, _, client = acme
    up = client.post("/v3/file-ops/upload/", {"files": [upload_file("p.jpg", photo_bytes())], "upload_path": "p"},
                     format="multipart")
    assert up.status_code == 200, up.json()
    response = client.post("/v3/tools/ai/remove-bg/process/", {
        "input_file_path": "p/p.jpg",
        "output_variants": [{"output_file_path": "p/out.png"}, {"output_file_path": "p/t.webp", "max_resolution": 10000,
                             "background_color": "#ffffff"}, {"output_file_path": "p/c.avif", "autocrop": True}],
    }, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"output_file_paths": ["p/out.png", "p/t.webp", "p/c.avif"]}
    cut = client.post("/v3/tools/ai/ai-cut/segment/", {
        "input_file_path": "p/p.jpg", "output_file_path": "p/seg.jpg", "foreground_points": [{"x": 160, "y": 130}],
        "output_type": "mask"}, format="json")
    assert cut.status_code == 200, cut.json()
    mask = Image.open(io.BytesIO(b"".join(client.get("/v3/files/p/seg.jpg").streaming_content))).convert("L")
    assert mask.getpixel((160, 130)) > 200 and mask.getpixel((10, 10)) < 50
