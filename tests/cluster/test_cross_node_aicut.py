"""AI Cut across nodes: refinement clicks on node B after a first click on node A cost a decoder pass, as
on A, run no encoder on B, and give what A would have given (the previous click's mask is shared too)."""
from __future__ import annotations

import io
import secrets
import statistics
import time

import numpy as np
import requests
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.test_cross_node import session, upload

AI_CUT = "/v3/tools/ai/ai-cut/segment/"
# A first click on the disk, then refinements: the box too, more of both, then parts left out. Includes come
# before excludes: the API rebuilds the clicks in that order, and the previous click's mask is fed back
# when the clicks extend the previous request's.
CLICKS = [(300, 330, True), (620, 300, True), (230, 400, True), (640, 260, True), (700, 200, False),
          (560, 420, False), (450, 190, False)]


def scene_photo(seed: int, size=(960, 720)) -> bytes:
    """A disk in front of a box on a noisy gradient; `seed` makes each photo's content (and hash) its own."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack([140 + 50 * x / width, 150 + 40 * y / height, np.full_like(x, 130)], axis=-1)
    pixels += rng.normal(0, 5, pixels.shape)
    pixels[(x - 300) ** 2 + (y - 330) ** 2 < 150 ** 2] = (225, 110, 35)
    box = (x > 420) & (x < 760) & (y > 160) & (y < 480) & ((x - 300) ** 2 + (y - 330) ** 2 >= 150 ** 2)
    pixels[box] = (40, 70, 190)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def counters(http, node) -> dict[str, float]:
    text = http.get(f"{node.base}/metrics", timeout=30).text
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("bgcut_aicut_")}


def click(http, node, path: str, count: int, output: str) -> tuple[float, bytes]:
    """AI Cut with the first `count` clicks on `node`: (seconds the call took, the mask it stored)."""
    body = {"input_file_path": path, "output_file_path": output, "output_type": "mask",
            "foreground_points": [{"x": x, "y": y} for x, y, positive in CLICKS[:count] if positive],
            "background_points": [{"x": x, "y": y} for x, y, positive in CLICKS[:count] if not positive]}
    started = time.perf_counter()
    response = http.post(f"{node.base}{AI_CUT}", json=body, timeout=120)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    mask = http.get(f"{node.base}/v3/files/{output}", timeout=30)
    assert mask.status_code == 200
    return seconds, mask.content


def test_refinement_clicks_on_the_other_node_cost_a_decoder_pass_and_give_the_same_masks(cluster):
    a, b = cluster.nodes
    http = session(cluster)
    folder = "cut" + secrets.token_hex(4)
    seed = secrets.randbits(32)
    same, other = (upload(http, a, folder, f"{name}.jpg", scene_photo(seed + n)) for n, name in enumerate("xy"))
    before_a, before_b = counters(http, a), counters(http, b)
    click(http, a, same, 1, f"{folder}/x1.jpg")
    click(http, a, other, 1, f"{folder}/y1.jpg")
    same_node, other_node, masks_on_b = [], [], {}
    for count in range(2, len(CLICKS) + 1):  # interleaved, so both series see the same machine load
        same_node.append(click(http, a, same, count, f"{folder}/x{count}.jpg")[0])
        seconds, masks_on_b[count] = click(http, b, other, count, f"{folder}/y{count}.jpg")
        other_node.append(seconds)
    after_b = counters(http, b)
    for count in range(2, len(CLICKS) + 1):  # what node A gives for the same clicks
        assert click(http, a, other, count, f"{folder}/ya{count}.jpg")[1] == masks_on_b[count], (
            f"node B's mask after {count} clicks differs from node A's")
    after_a = counters(http, a)

    def grew(before, after, name):
        return after.get(name, 0) - before.get(name, 0)

    assert grew(before_a, after_a, "bgcut_aicut_encoder_passes_total") == 2, "node A embedded each photo once (SAM)"
    assert grew(before_b, after_b, "bgcut_aicut_encoder_passes_total") == 0, "node B never ran the encoder"
    assert grew(before_b, after_b, "bgcut_aicut_shared_cache_hits_total") >= 2  # the embedding, the first mask
    assert grew(before_b, after_b, "bgcut_aicut_shared_cache_errors_total") == 0
    p50_same, p50_other = statistics.median(same_node), statistics.median(other_node)
    assert p50_other <= 2 * p50_same, (
        f"refinement p50 on the other node {p50_other:.3f} s vs {p50_same:.3f} s on the same node "
        f"(same: {[round(s, 3) for s in same_node]}, other: {[round(s, 3) for s in other_node]})")
