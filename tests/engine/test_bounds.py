"""Bounded work in the engine: the deadline ends the work and frees the slot; one upright size everywhere."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from engine import inference
from engine.errors import ApiError
from tests.engine.test_tools import AI_CUT, fake_store, put  # noqa: F401 (fake_store is a fixture)
from vision.deadline import deadline_check, deadline_remaining


def test_work_that_runs_past_the_deadline_is_a_504_and_frees_its_slot():
    gate = inference.InferenceGate(concurrency=1, queue=0)
    deadline = time.monotonic() + 0.05
    with pytest.raises(ApiError) as caught:
        with gate.slot(deadline=deadline):
            assert 0 < deadline_remaining() <= 0.05  # vision code sees the request's budget
            time.sleep(0.06)
            deadline_check()  # what vision code does between stages
    assert caught.value.status == 504
    with gate.slot(deadline=time.monotonic() + 5):  # the only slot is free again
        pass


def test_outside_a_slot_vision_code_has_no_budget():
    gate = inference.InferenceGate(concurrency=1, queue=0)
    with gate.slot(deadline=time.monotonic() + 5):
        pass
    assert deadline_remaining() is None


@pytest.mark.django_db
def test_a_stalled_ai_cut_stops_at_the_deadline(acme, fake_store, settings, monkeypatch):
    """The segmentation checks the budget between stages: a stage past it ends the call, not the wait."""
    settings.BGCUT_INFERENCE_TIMEOUT = 0.2
    _, _, client = acme
    put(client)
    stages = []

    def slow_stage(*args, **kwargs):
        stages.append(time.monotonic())
        time.sleep(0.3)
        deadline_check()
        raise AssertionError("the work went on past its deadline")

    monkeypatch.setattr("vision.aicut.AICut._logits", slow_stage)
    response = client.post(AI_CUT, {"input_file_path": "p/p.jpg", "output_file_path": "o/c.jpg",
                                    "foreground_points": [{"x": 160, "y": 120}]}, format="json")
    assert response.status_code == 504, response.json()
    assert len(stages) == 1


def rotated_jpeg(size=(64, 32)) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed a quarter turn clockwise: 32 wide, 64 tall
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.mark.django_db
def test_info_and_ai_cut_agree_on_the_upright_size_of_a_rotated_photo(acme, fake_store):
    _, _, client = acme
    path = put(client, name="turned.jpg", data=rotated_jpeg())
    info = client.get("/v3/file-ops/info/", {"file_path": path}).json()
    assert (info["width"], info["height"]) == (32, 64)
    inside = client.post(AI_CUT, {"input_file_path": path, "output_file_path": "o/in.jpg",
                                  "foreground_points": [{"x": 20, "y": 60}]}, format="json")
    assert inside.status_code == 200, inside.json()
    outside = client.post(AI_CUT, {"input_file_path": path, "output_file_path": "o/out.jpg",
                                   "foreground_points": [{"x": 40, "y": 10}]}, format="json")
    assert outside.status_code == 400 and "32×64" in outside.json()["detail"]




def test_work_that_may_not_queue_is_refused_at_once_while_the_slots_are_taken():
    gate = inference.InferenceGate(concurrency=1, queue=4)
    with gate.slot(deadline=time.monotonic() + 5):
        started = time.monotonic()
        with pytest.raises(ApiError) as caught:
            with gate.slot(deadline=time.monotonic() + 5, queue=False):
                pass
        assert time.monotonic() - started < 0.5, "no wait for the slot"
        assert caught.value.status == 503 and caught.value.headers["Retry-After"]
        assert gate.depth == 1, "its place in the queue is given back"
    with gate.slot(deadline=time.monotonic() + 5, queue=False):  # a free slot is taken at once
        pass
