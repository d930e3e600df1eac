"""remove-bg and AI Cut through the HTTP API: parameters, errors, credits, the job log, backpressure."""
from __future__ import annotations

import io
import threading
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from PIL import Image

from engine import inference
from engine.models import Account, Job
from tests.images import upload_file
from tests.threads import threads_at_once

pytestmark = pytest.mark.django_db

REMOVE_BG = "/v3/tools/ai/remove-bg/process/"
AI_CUT = "/v3/tools/ai/ai-cut/segment/"


def photo_bytes(fmt="JPEG", size=(320, 240)) -> bytes:
    """A blue field with a red block in the middle: an easy subject for any model."""
    width, height = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:] = (40, 120, 200)
    pixels[height // 4: height * 3 // 4, width // 3: width * 2 // 3] = (230, 60, 40)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def put(client, name="p.jpg", data=None, folder="p"):
    response = client.post("/v3/file-ops/upload/", {"files": [upload_file(name, data or photo_bytes())],
                                                    "upload_path": folder}, format="multipart")
    assert response.status_code == 200, response.json()
    return response.json()["file_paths"][0]


def put_left_mask(client) -> str:
    """Store p/mask.png: a 320×240 mask selecting the left 100 columns (the photo's size)."""
    mask = np.zeros((240, 320), np.uint8)
    mask[:, :100] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    return put(client, "mask.png", buffer.getvalue())


def fetch_image(client, path) -> Image.Image:
    response = client.get(f"/v3/files/{path}")
    assert response.status_code == 200
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


class CountingFakeStore:
    """Stands in for the model store: a centred-box probability map, and a count of passes."""

    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None):
        self.passes = 0
        self.delay = delay
        self.gate = gate

    def infer(self, name, image):
        self.passes += 1
        if self.gate is not None:
            self.gate.wait(5)
        height, width = image.shape[:2]
        prob = np.zeros((height, width), np.float32)
        prob[height // 4: height * 3 // 4, width // 3: width * 2 // 3] = 1.0
        return prob

    predict = infer

    def check(self, names):
        pass


@pytest.fixture
def fake_store(monkeypatch, settings):
    """Every quality level on one (fake) model, so a pass is one call."""
    settings.BGCUT_QUALITY_PLANS = '{"low": {"models": ["u2netp"]}, "medium": {"models": ["u2netp"]}, ' \
                                   '"high": {"models": ["u2netp"]}}'
    settings.BGCUT_AICUT_SEGMENTER = "prior"  # AI Cut on the same fake store (the SAM files are tested in vision/)
    inference.aicut.cache_clear()
    store = CountingFakeStore()
    monkeypatch.setattr(inference, "model_store", lambda: store)
    inference.quality_plans.cache_clear()
    return store


def balance(name="acme") -> Decimal:
    return Account.objects.get(name=name).credits


class TestRemoveBg:
    def test_three_variants_come_from_one_model_pass(self, acme, fake_store):
        _, _, client = acme
        put(client)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [
            {"output_file_path": "o/full.png"},
            {"output_file_path": "o/thumb.webp", "max_resolution": 10000, "background_color": "#ffffff"},
            {"output_file_path": "o/crop.avif", "autocrop": True, "quality": "low"},
        ]}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json() == {"output_file_paths": ["o/full.png", "o/thumb.webp", "o/crop.avif"]}
        assert fake_store.passes == 1
        full, thumb, crop = (fetch_image(client, p) for p in response.json()["output_file_paths"])
        assert (full.format, full.size, full.mode) == ("PNG", (320, 240), "RGBA")
        assert full.getpixel((5, 5))[3] == 0 and full.getpixel((160, 120))[3] == 255
        assert thumb.format == "WEBP" and thumb.size[0] * thumb.size[1] <= 10000
        assert thumb.convert("RGB").getpixel((1, 1)) == pytest.approx((255, 255, 255), abs=3)
        assert crop.format == "AVIF" and crop.size == pytest.approx((107, 120), abs=3)

    def test_each_call_is_charged_and_logged(self, acme, fake_store, settings):
        settings.BGCUT_CREDIT_COST_REMOVE_BG = 2.5
        _, _, client = acme
        put(client)
        before = balance()
        client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [{"output_file_path": "o/a.png"}]},
                    format="json")
        assert balance() == before - Decimal("2.50")
        job = Job.objects.get()
        assert (job.tool, job.status, job.outputs, job.input_path) == ("remove-bg", "ok", ["o/a.png"], "p/p.jpg")
        assert job.duration_ms is not None and "alpha" in job.timings

    def test_the_key_dialect_answers_in_kind(self, acme, fake_store):
        _, _, client = acme
        put(client)
        response = client.post(REMOVE_BG, {"input_key": "p/p.jpg", "output_variants": [{"output_key": "o/a.png"}]},
                               format="json")
        assert response.json() == {"output_keys": ["o/a.png"]}

    def test_a_jpeg_gets_white_where_the_background_was(self, acme, fake_store):
        _, _, client = acme
        put(client)
        client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [
            {"output_file_path": "o/a.jpg"}]}, format="json")
        image = fetch_image(client, "o/a.jpg")
        assert image.format == "JPEG"
        assert image.getpixel((3, 3)) == pytest.approx((255, 255, 255), abs=4)

    def test_a_stored_mask_replaces_the_model(self, acme, fake_store):
        _, _, client = acme
        put(client)
        put_left_mask(client)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "mask_file_path": "p/mask.png",
                                           "output_variants": [{"output_file_path": "o/m.png"}]}, format="json")
        assert response.status_code == 200, response.json()
        assert fake_store.passes == 0
        out = fetch_image(client, "o/m.png")
        assert out.getpixel((10, 100))[3] == 255 and out.getpixel((300, 100))[3] == 0

    def test_a_render_from_a_stored_mask_costs_the_render_price_and_blurs_or_swaps_the_background(
        self, acme, fake_store, settings
    ):
        settings.BGCUT_CREDIT_COST_RENDER = Decimal("0.25")
        _, _, client = acme
        put(client)
        backdrop = np.zeros((60, 80, 3), np.uint8)
        backdrop[:] = (250, 200, 0)
        buffer = io.BytesIO()
        Image.fromarray(backdrop).save(buffer, "PNG")
        put(client, "backdrop.png", buffer.getvalue())
        client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                "output_variants": [{"output_file_path": "o/cut.png"}]}, format="json")
        before = balance()
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "mask_file_path": "o/cut.png",
                                           "output_variants": [
                                               {"output_file_path": "o/blur.jpg", "background_blur": 30},
                                               {"output_file_path": "o/swap.png", "background_image_path": "p/backdrop.png"},
                                           ]}, format="json")
        assert response.status_code == 200, response.json()
        assert fake_store.passes == 1, "the render from the mask ran no model"
        assert balance() == before - Decimal("0.25")
        swap = fetch_image(client, "o/swap.png").convert("RGB")
        assert swap.getpixel((5, 5)) == pytest.approx((250, 200, 0), abs=3)
        assert swap.getpixel((160, 120)) == pytest.approx((230, 60, 40), abs=6)
        blur = fetch_image(client, "o/blur.jpg")
        assert blur.getpixel((5, 5)) == pytest.approx((40, 120, 200), abs=8)

    def test_a_missing_background_image_is_a_404_naming_the_field(self, acme, fake_store):
        _, _, client = acme
        put(client)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [
            {"output_file_path": "o/a.png", "background_image_path": "p/nope.png"}]}, format="json")
        assert response.status_code == 404
        assert "background_image_path" in response.json()["detail"]

    @pytest.mark.parametrize("variants, words", [
        ([], "output_variants must be a list of 1 to 10"),
        ([{"output_file_path": f"o/{i}.png"} for i in range(11)], "1 to 10"),
        ([{"format": "png"}], "output_variants[0].output_file_path (or output_key) is required"),
        ([{"output_file_path": "o/a.png"}, {"output_file_path": "o/b.gif", "format": "gif"}],
         "output_variants[1].format must be one of"),
        ([{"output_file_path": "o/a.png", "max_resolution": 4095}], "output_variants[0].max_resolution"),
        ([{"output_file_path": "o/a.png", "max_resolution": 25_000_001}], "max_resolution"),
        ([{"output_file_path": "o/a.png", "max_resolution": "big"}], "max_resolution"),
        ([{"output_file_path": "o/a.png", "background_color": "red"}], "output_variants[0].background_color"),
        ([{"output_file_path": "o/a.jpg", "background_color": "#ffffff80"}], "opaque for JPEG"),
        ([{"output_file_path": "o/a.png", "quality": "ultra"}], "output_variants[0].quality"),
        ([{"output_file_path": "o/a.webp", "output_compression": 0}], "output_compression"),
        ([{"output_file_path": "o/a.png", "autocrop": "yes"}], "autocrop"),
        ([{"output_file_path": "o/a.png", "background_blur": 101}], "output_variants[0].background_blur"),
        ([{"output_file_path": "o/a.png", "background_blur": 5, "background_color": "#fff"}], "choose one background"),
        ([{"output_file_path": "o/a.png", "background_image_path": "../x.png"}], "background_image_path"),
        ([{"output_file_path": "o/a.png", "format": "webp"}], "does not match the extension"),
        ([{"output_file_path": "o/a.png", "colour": "#fff"}], "output_variants[0].colour is an unknown field"),
        ([{"output_file_path": "o/a.png"}, {"output_file_path": "o/a.png"}], "output_variants[1] writes to the same"),
        ([{"output_file_path": "p/p.jpg"}], "overwrite the input"),
        ([{"output_file_path": "../a.png"}], "output_variants[0].output_file_path"),
        (["o/a.png"], "output_variants[0] must be an object"),
    ])
    def test_a_bad_variant_is_a_400_naming_field_and_index_and_nothing_is_written_or_charged(
        self, acme, fake_store, variants, words
    ):
        _, _, client = acme
        put(client)
        before = balance()
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": variants}, format="json")
        assert response.status_code == 400
        assert words in response.json()["detail"]
        assert balance() == before
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}
        assert fake_store.passes == 0

    def test_a_missing_input_is_a_404_and_not_charged(self, acme, fake_store):
        _, _, client = acme
        before = balance()
        response = client.post(REMOVE_BG, {"input_file_path": "p/gone.jpg",
                                           "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
        assert response.status_code == 404
        assert "p/gone.jpg" in response.json()["detail"]
        assert balance() == before

    def test_too_few_credits_is_a_402_and_nothing_written(self, make_account, key_client, fake_store):
        account, raw = make_account("poor", credits=Decimal("0.50"))
        client = key_client(raw)
        put(client)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                           "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
        assert response.status_code == 402
        assert "Insufficient credits. Required: 1.00, available: 0.50" == response.json()["detail"]
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}

    def test_a_failure_mid_way_is_logged_refunded_and_writes_nothing(self, acme, fake_store, monkeypatch):
        _, _, client = acme
        put(client)
        before = balance()

        def broken_render(**kwargs):
            raise RuntimeError("encoder exploded")

        monkeypatch.setattr("vision.render.cutout_render", broken_render)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                           "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
        assert response.status_code == 500
        assert "Traceback" not in response.content.decode()
        assert balance() == before
        assert Job.objects.get().status == "failed" and "encoder exploded" in Job.objects.get().error
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}

    def test_over_the_time_budget_is_a_504_with_nothing_written(self, acme, fake_store, settings):
        settings.BGCUT_INFERENCE_TIMEOUT = 0.0
        _, _, client = acme
        put(client)
        before = balance()
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                           "output_variants": [{"output_file_path": "o/a.png"}]}, format="json")
        assert response.status_code == 504
        assert "max_resolution" in response.json()["detail"]
        assert balance() == before
        assert client.get("/v3/file-ops/list/").json() == {"file_paths": ["p/p.jpg"]}


class TestBackpressure:
    def test_a_full_queue_answers_503_with_retry_after(self, acme, settings, monkeypatch, transactional_db):
        """One call runs, one waits, the third is turned away at once."""
        settings.BGCUT_INFERENCE_CONCURRENCY = 1
        settings.BGCUT_INFERENCE_QUEUE = 1
        release = threading.Event()
        store = CountingFakeStore(gate=release)
        monkeypatch.setattr(inference, "model_store", lambda: store)
        settings.BGCUT_QUALITY_PLANS = '{"high": {"models": ["u2netp"]}}'
        inference.quality_plans.cache_clear()
        _, raw, client = acme
        put(client)
        from rest_framework.test import APIClient

        results = {}

        def call(name):
            own = APIClient()
            own.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            try:
                results[name] = own.post(REMOVE_BG, {"input_file_path": "p/p.jpg",
                                                     "output_variants": [{"output_file_path": f"o/{name}.png"}]},
                                         format="json")
            finally:
                if name != "third":  # a thread's own connection outlives its requests on a database server
                    connection.close()

        threads = [threading.Thread(target=call, args=(n,)) for n in ("first", "second")]
        threads[0].start()
        while store.passes == 0:
            threading.Event().wait(0.01)
        threads[1].start()
        threading.Event().wait(0.2)
        call("third")
        release.set()
        for thread in threads:
            thread.join(10)
        assert results["third"].status_code == 503
        assert int(results["third"]["Retry-After"]) >= 1
        assert [results[n].status_code for n in ("first", "second")] == [200, 200]
        listing = client.get("/v3/file-ops/list/").json()["file_paths"]
        assert listing == ["o/first.png", "o/second.png", "p/p.jpg"]


class TestAICut:
    def test_it_writes_the_subject_on_white_or_the_mask(self, acme, fake_store):
        _, _, client = acme
        put(client)
        body = {"input_file_path": "p/p.jpg", "output_file_path": "p/seg-v1.jpg",
                "foreground_points": [{"x": 160, "y": 120}], "background_points": [{"x": 5, "y": 5}]}
        answer = client.post(AI_CUT, body, format="json").json()
        assert answer["output_file_path"] == "p/seg-v1.jpg" and answer["empty"] is False
        cutout = fetch_image(client, "p/seg-v1.jpg").convert("RGB")
        assert cutout.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=4)
        assert cutout.getpixel((160, 120)) == pytest.approx((230, 60, 40), abs=12)
        response = client.post(AI_CUT, {**body, "output_file_path": "p/seg-v2.jpg", "output_type": "mask"},
                               format="json")
        assert response.status_code == 200
        mask = fetch_image(client, "p/seg-v2.jpg").convert("L")
        assert mask.getpixel((160, 120)) > 240 and mask.getpixel((5, 5)) < 15
        assert Job.objects.filter(tool="ai-cut", status="ok").count() == 2

    def test_the_key_dialect_answers_in_kind(self, acme, fake_store):
        _, _, client = acme
        client.post("/v3/file-ops/upload/", {"file": upload_file("x.jpg", photo_bytes()), "key": "k/photo.jpg"},
                    format="multipart")
        response = client.post(AI_CUT, {"input_key": "k/photo.jpg", "output_key": "k/s.jpg",
                                        "foreground_points": [{"x": 160, "y": 120}]}, format="json")
        assert response.json()["output_key"] == "k/s.jpg" and "output_file_path" not in response.json()

    @pytest.mark.parametrize("change, words", [
        ({"input_file_path": "p/p.png"}, "input_file_path must be a JPEG"),
        ({"output_file_path": "p/out.png"}, "output_file_path must be a JPEG"),
        ({"foreground_points": [{"x": 1.5, "y": 2}]}, "foreground_points[0]"),
        ({"foreground_points": [{"x": "1", "y": 2}]}, "foreground_points[0]"),
        ({"foreground_points": [{"x": 1}]}, "foreground_points[0]"),
        ({"background_points": [{"x": 1, "y": 1}, {"x": 320, "y": 0}]}, "background_points[1] (320, 0) is outside"),
        ({"foreground_points": [{"x": -1, "y": 0}]}, "outside the 320×240 image"),
        ({"foreground_points": {"x": 1, "y": 1}}, "foreground_points must be a list"),
        ({"output_type": "alpha"}, "output_type"),
        ({"input_file_path": None}, "input_file_path (or input_key) is required"),
    ])
    def test_bad_requests_are_400s_naming_the_problem(self, acme, fake_store, change, words):
        _, _, client = acme
        put(client)
        before = balance()
        body = {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg",
                "foreground_points": [{"x": 10, "y": 10}], **change}
        response = client.post(AI_CUT, body, format="json")
        assert response.status_code == 400, response.json()
        assert words in response.json()["detail"]
        assert balance() == before
        assert client.get("/v3/files/p/s.jpg").status_code == 404

    def test_a_png_stored_under_a_jpg_name_is_refused(self, acme, fake_store):
        _, _, client = acme
        put(client, "x.png", photo_bytes("PNG"))
        client.post("/v3/file-ops/copy/", {"source_path": "p/x.png", "destination_path": "p/x.jpg"}, format="json")
        response = client.post(AI_CUT, {"input_file_path": "p/x.jpg", "output_file_path": "p/s.jpg"}, format="json")
        assert response.status_code == 400
        assert "image/png" in response.json()["detail"]

    def test_replacing_the_input_at_the_same_path_is_not_served_from_the_cache(self, acme, fake_store):
        _, _, client = acme
        put(client)
        body = {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg", "output_type": "mask",
                "foreground_points": [{"x": 160, "y": 120}]}
        client.post(AI_CUT, body, format="json")
        client.post(AI_CUT, body, format="json")
        assert fake_store.passes == 1, "a second click on the same image reuses the cached prior"
        put(client, data=photo_bytes(size=(200, 150)))  # another image under the same name
        response = client.post(AI_CUT, {**body, "foreground_points": [{"x": 100, "y": 75}]}, format="json")
        assert response.status_code == 200, response.json()
        assert fake_store.passes == 2
        assert fetch_image(client, "p/s.jpg").size == (200, 150)

    def test_a_missing_input_is_a_404(self, acme, fake_store):
        response = acme[2].post(AI_CUT, {"input_file_path": "p/none.jpg", "output_file_path": "p/s.jpg"},
                                format="json")
        assert response.status_code == 404


@pytest.mark.model
class TestRealModel:
    def test_remove_bg_with_u2netp_separates_the_subject(self, acme, u2netp_everywhere):
        _, _, client = acme
        put(client)
        response = client.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [
            {"output_file_path": "o/a.png", "quality": "low"}]}, format="json")
        assert response.status_code == 200, response.json()
        alpha = np.asarray(fetch_image(client, "o/a.png"))[..., 3]
        assert alpha[120, 160] > 200 and alpha[5, 5] < 30

    def test_ai_cut_with_the_real_prior_follows_the_clicks(self, acme, u2netp_everywhere, settings):
        settings.BGCUT_AICUT_SEGMENTER = "prior"  # the fallback pipeline (SAM: tests/engine/test_aicut_sam.py)
        inference.aicut.cache_clear()
        _, _, client = acme
        put(client)
        response = client.post(AI_CUT, {"input_file_path": "p/p.jpg", "output_file_path": "p/s.jpg",
                                        "foreground_points": [{"x": 160, "y": 120}], "output_type": "mask"},
                               format="json")
        assert response.status_code == 200, response.json()
        mask = np.asarray(fetch_image(client, "p/s.jpg").convert("L"))
        assert mask[120, 160] > 200 and mask[5, 5] < 50


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_keep_their_outputs_apart(make_account, key_client, fake_store, settings):
    """Four requests at once on four different photos: every output comes from its own input."""
    settings.BGCUT_INFERENCE_CONCURRENCY = 2
    settings.BGCUT_INFERENCE_QUEUE = 8
    colours = [(230, 40, 40), (40, 230, 40), (40, 40, 230), (230, 230, 40)]
    clients = []
    for index, colour in enumerate(colours):
        _, raw = make_account(f"parallel{index}")
        client = key_client(raw)
        pixels = np.full((240, 320, 3), colour, np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        put(client, "in.png", buffer.getvalue())
        clients.append(client)
    results = [None] * len(clients)

    def call(index):
        return clients[index].post(REMOVE_BG, {"input_file_path": "p/in.png", "output_variants": [
            {"output_file_path": "o/out.png"}, {"output_file_path": "o/out.jpg", "background_color": "#000"}]},
            format="json")

    results, errors = threads_at_once(call, [(i,) for i in range(len(clients))])
    assert errors == [] and [r.status_code for r in results] == [200] * len(clients)
    for client, colour in zip(clients, colours):
        assert fetch_image(client, "o/out.png").getpixel((160, 120))[:3] == pytest.approx(colour, abs=2)
        assert fetch_image(client, "o/out.jpg").getpixel((160, 120)) == pytest.approx(colour, abs=6)
