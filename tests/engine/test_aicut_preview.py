"""AI Cut's prepare and preview extensions through the HTTP API on the real SAM files: prepare runs the
encoder once and is not charged; a preview is one decoder pass on a prepared image, inline, not stored,
not charged, and never runs the encoder itself."""
from __future__ import annotations

import base64
import io
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from engine import inference, tools
from engine.models import Job
from tests.engine.test_aicut_sam import scene_jpeg, segment, sam  # noqa: F401 (sam is a fixture)
from tests.engine.test_tools import balance, put

pytestmark = pytest.mark.django_db

PREPARE = "/v3/tools/ai/ai-cut/prepare/"
PREVIEW = "/v3/tools/ai/ai-cut/preview/"


def prepare(client, **fields):
    return client.post(PREPARE, {"input_file_path": "p/p.jpg", **fields}, format="json")


def preview(client, **fields):
    return client.post(PREVIEW, {"input_file_path": "p/p.jpg", **fields}, format="json")


def large_scene() -> bytes:
    """The two-object scene at 1200×900: its preview must come back downscaled to 512×384."""
    picture = Image.open(io.BytesIO(scene_jpeg())).resize((1200, 900), Image.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def mask_of(body: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(body["mask_png"]))).convert("L"))


@pytest.mark.parametrize("url", [PREPARE, PREVIEW])
@pytest.mark.parametrize("body, words", [
    ({}, "input_file_path (or input_key) is required."),
    ({"input_file_path": "p/p.png"}, "input_file_path must be a JPEG file"),
    ({"input_file_path": "p/p.jpg", "input_key": "p/p.jpg"}, "two dialects"),
    ({"input_file_path": "../p.jpg"}, "input_file_path"),
    ({"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg"}, "output_file_path is an unknown field"),
    ([1, 2], "must be a JSON object"),
])
def test_a_bad_prepare_or_preview_body_is_a_400_naming_the_field(acme, sam, url, body, words):
    _, _, client = acme
    put(client, data=scene_jpeg())
    before = balance()
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert balance() == before and sam.model.encoder_passes == 0


@pytest.mark.parametrize("fields, words", [
    ({"foreground_points": [{"x": 480, "y": 10}]}, "foreground_points[0] (480, 10) is outside the 480×360 image"),
    ({"foreground_points": [{"x": 1}]}, "foreground_points[0].y is required."),
    ({"background_points": [{"x": 1, "y": "2"}]}, "background_points[0].y must be an integer"),
    ({"box": {"x1": 5, "y1": 5, "x2": 5, "y2": 9}}, "x1 < x2"),
])
def test_a_preview_with_bad_prompts_is_a_400_before_any_model_runs(acme, sam, fields, words):
    _, _, client = acme
    put(client, data=scene_jpeg())
    assert prepare(client).status_code == 200
    decoded = sam.model.decoder_passes
    response = preview(client, **fields)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert sam.model.decoder_passes == decoded


def test_a_missing_input_is_a_404_for_both(acme, sam):
    _, _, client = acme
    assert prepare(client, input_file_path="p/none.jpg").status_code == 404
    response = preview(client, input_file_path="p/none.jpg", foreground_points=[{"x": 1, "y": 1}])
    assert response.status_code == 404 and "p/none.jpg" in response.json()["detail"]


def test_a_preview_of_an_image_not_prepared_says_so_and_runs_no_model(acme, sam, monkeypatch):
    _, _, client = acme
    put(client, data=scene_jpeg())
    before = balance()
    decoded = []
    monkeypatch.setattr(tools, "aicut_image_load", lambda **kwargs: decoded.append(kwargs))
    response = preview(client, foreground_points=[{"x": 140, "y": 180}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "not_prepared" and body["mask_png"] is None and "prepare" in body["message"]
    assert sam.model.encoder_passes == 0 and sam.model.decoder_passes == 0
    assert decoded == [], "an unprepared image is answered without decoding it"
    assert balance() == before


def test_prepare_runs_the_encoder_once_is_not_charged_and_the_first_click_reuses_it(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    before = balance()
    first = prepare(client)
    assert first.status_code == 200, first.json()
    assert first.json() == {"prepared": True, "preview": True}
    assert sam.model.encoder_passes == 1
    again = client.post(PREPARE, {"input_key": "p/p.jpg"}, format="json")  # idempotent, in either dialect
    assert again.json() == {"prepared": True, "preview": True}
    assert sam.model.encoder_passes == 1 and sam.model.decoder_passes == 0
    assert balance() == before
    assert not Job.objects.exists(), "preparing is no job to log or charge"
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}
    clicked = segment(client, foreground_points=[{"x": 140, "y": 180}])
    assert clicked.status_code == 200 and clicked.json()["empty"] is False
    assert sam.model.encoder_passes == 1, "the first click found the embedding ready"


def test_a_preview_shows_what_a_click_would_select_small_inline_and_free(acme, sam):
    _, _, client = acme
    put(client, data=large_scene())
    assert prepare(client).status_code == 200
    before, decoded = balance(), sam.model.decoder_passes
    response = preview(client, foreground_points=[{"x": 350, "y": 450}])  # the disk's centre at 1200×900
    assert response.status_code == 200, response.json()
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ready" and body["empty"] is False
    assert (body["width"], body["height"]) == (512, 384)
    mask = mask_of(body)
    assert mask.shape == (384, 512)
    # The disk (centre 140, 180 of 480×360; radius 70) and not the box beside it (x 280-420).
    assert mask[192, 149] == 255 and mask[192, 373] == 0 and mask[10, 10] == 0
    disk = np.hypot(*np.mgrid[0:384, 0:512][::-1] - np.array([149, 192])[:, None, None]) < 70 * 512 / 480
    assert np.mean((mask > 127) == disk) > 0.97
    assert sam.model.decoder_passes == decoded + 1 and sam.model.encoder_passes == 1
    assert balance() == before and not Job.objects.exists()
    assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}, "a preview writes no file"


def test_a_preview_of_exclude_clicks_alone_is_empty(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    prepare(client)
    body = preview(client, background_points=[{"x": 140, "y": 180}]).json()
    assert body["status"] == "ready" and body["empty"] is True
    assert mask_of(body).max() == 0


def test_the_prior_pipeline_offers_no_preview(acme, settings):
    settings.BGCUT_AICUT_SEGMENTER = "prior"
    inference.aicut.cache_clear()
    try:
        _, _, client = acme
        put(client, data=scene_jpeg())
        assert prepare(client).json() == {"prepared": True, "preview": False}
        body = preview(client, foreground_points=[{"x": 140, "y": 180}]).json()
        assert body["status"] == "unavailable" and body["mask_png"] is None and "no cheap preview" in body["message"]
    finally:
        inference.aicut.cache_clear()


def test_a_preview_never_waits_for_a_busy_model_it_is_a_503_at_once(acme, sam, settings):
    _, _, client = acme
    put(client, data=scene_jpeg())
    assert prepare(client).status_code == 200
    settings.BGCUT_INFERENCE_CONCURRENCY = 1
    gate = inference.inference_gate()
    with gate.slot(deadline=time.monotonic() + 30):  # another call holds the only slot
        started = time.monotonic()
        response = preview(client, foreground_points=[{"x": 140, "y": 180}])
        waited = time.monotonic() - started
    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    assert "busy" in response.json()["detail"]
    assert waited < 2 and sam.model.decoder_passes == 0
    assert preview(client, foreground_points=[{"x": 140, "y": 180}]).json()["status"] == "ready"


def test_previews_count_against_the_accounts_rate_limit_like_any_call(acme, sam, settings, monkeypatch):
    # The limiter's window is the clock's minute: frozen mid-minute, the count cannot reset during the test.
    monkeypatch.setattr("engine.throttling.time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    settings.BGCUT_RATE_LIMIT = "5/min"
    _, _, client = acme
    put(client, data=scene_jpeg())
    assert prepare(client).status_code == 200
    answers = [preview(client, foreground_points=[{"x": 140, "y": 180}]) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["X-RateLimit-Remaining"] == "2", "the upload and the prepare counted too"
    assert int(answers[3]["Retry-After"]) >= 1 and sam.model.decoder_passes == 3
