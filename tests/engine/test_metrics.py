"""The engine's metrics: credits charged, AI Cut cache hits and misses, the inference queue's depth."""
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine import inference
from tests.engine.test_tools import AI_CUT, REMOVE_BG, put

pytestmark = pytest.mark.django_db


def values(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {s.name: s.value for family in text_string_to_metric_families(response.content.decode())
            for s in family.samples if s.name.startswith(("bgcut_credits", "bgcut_aicut", "bgcut_inference"))}


@pytest.mark.model
def test_tool_calls_show_credits_charged_and_ai_cut_cache_hits(acme, u2netp_everywhere, client, settings):
    _, _, api = acme
    put(api)
    before = values(client)
    body = {"input_file_path": "p/p.jpg", "output_file_path": "p/seg.jpg", "foreground_points": [{"x": 160, "y": 120}]}
    assert api.post(AI_CUT, body, format="json").status_code == 200
    body["background_points"] = [{"x": 5, "y": 5}]
    assert api.post(AI_CUT, body, format="json").status_code == 200  # the image's prior is cached now
    assert api.post(REMOVE_BG, {"input_file_path": "p/p.jpg", "output_variants": [{"output_file_path": "p/o.png"}]},
                    format="json").status_code == 200
    failed = api.post(REMOVE_BG, {"input_file_path": "p/gone.jpg", "output_variants": [{"output_file_path": "p/x.png"}]},
                      format="json")
    assert failed.status_code == 404  # not charged, so not counted
    after = values(client)
    charged = after["bgcut_credits_charged_total"] - before.get("bgcut_credits_charged_total", 0)
    assert charged == pytest.approx(float(2 * settings.BGCUT_CREDIT_COST_AI_CUT + settings.BGCUT_CREDIT_COST_REMOVE_BG))
    assert after["bgcut_aicut_cache_hits_total"] > before.get("bgcut_aicut_cache_hits_total", 0)
    assert after["bgcut_aicut_cache_misses_total"] > before.get("bgcut_aicut_cache_misses_total", 0)


def test_the_queue_depth_counts_calls_inside_the_gate(client):
    gate = inference.inference_gate()
    assert gate.depth == 0 and values(client)["bgcut_inference_queue_depth"] == 0
    with gate.slot(deadline=time.monotonic() + 5):
        assert gate.depth == 1
        assert values(client)["bgcut_inference_queue_depth"] == 1
    assert gate.depth == 0
