"""Bounded work and memory through a real gunicorn worker: a stalling image cannot hold the inference
slot past its deadline, and concurrent uploads of small files that declare huge sizes stay small.

The server runs in a subprocess with its own SQLite database and storage under a temporary folder.
"""
from __future__ import annotations

import io
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.live_server import free_port, gunicorn_start, gunicorn_stop, manage, server_prepare, wait_for
from tests.vision.test_image_io import tiny_jpeg_declaring

# The server's BGCUT_INFERENCE_TIMEOUT: below what a 4500 px AI Cut can take on a busy 2-core machine,
# above what a small photo's takes even at a load average of 20 (6 s measured).
TIMEOUT_S = 15
OVERSHOOT_S = 30  # one stage past the deadline (a geodesic, the full-size threshold), with room for load
UPLOAD = "/v3/file-ops/upload/"
AI_CUT = "/v3/tools/ai/ai-cut/segment/"


class Server:
    def __init__(self, base: str, api_key: str, master: subprocess.Popen):
        self.base, self.master = base, master
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {api_key}"

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, timeout=kwargs.pop("timeout", 120), **kwargs)

    def upload(self, name: str, data: bytes, folder: str = "in") -> requests.Response:
        return self.post(UPLOAD, files={"files": (name, data)}, data={"upload_path": folder})

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def worker_peak_mb(self) -> float:
        """The worker's high-water resident memory (VmHWM), in MB."""
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM line")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _server_run(tmp_path_factory)


@pytest.fixture
def fresh_server(tmp_path_factory):
    """A worker of its own: the peak-memory test must not see what other tests' calls left in VmHWM."""
    yield from _server_run(tmp_path_factory)


def _server_run(tmp_path_factory):
    var = tmp_path_factory.mktemp("bgcut-bounds")
    port = free_port()
    env = server_prepare(var, name="bounds", BGCUT_INFERENCE_TIMEOUT=str(TIMEOUT_S), BGCUT_INFERENCE_QUEUE="8",
                         BGCUT_RATE_LIMIT="2000/min")
    api_key = manage("create_api_key", "bounds", env=env).strip().splitlines()[-1].strip()
    master = gunicorn_start(port=port, env=env, log=var / "server.log", timeout=600)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(base + "/v3/file-ops/list/", process=master)
        except RuntimeError as error:
            raise RuntimeError(f"{error}:\n" + (var / "server.log").read_text()[-4000:]) from None
        yield Server(base, api_key, master)
    finally:
        gunicorn_stop(master)


def jpeg(pixels: np.ndarray, quality: int = 75) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def normal_photo() -> bytes:
    pixels = np.zeros((240, 320, 3), np.uint8)
    pixels[:] = (40, 120, 200)
    pixels[60:180, 106:213] = (230, 60, 40)
    return jpeg(pixels)


def ai_cut(server: Server, path: str, points: list[dict], negative: list[dict] = ()) -> requests.Response:
    return server.post(AI_CUT, json={"input_file_path": path, "output_file_path": "out/cut.jpg",
                                     "foreground_points": points, "background_points": list(negative)})


@pytest.mark.parametrize("name, make", [
    ("flat.jpg", lambda: jpeg(np.full((4500, 4500, 3), 128, np.uint8))),  # ~300 KB
    ("crafted.jpg", lambda: tiny_jpeg_declaring(4500, 4500)),  # under 1 KB, the same grey once decoded
    ("noise.jpg", lambda: jpeg(np.where(np.random.default_rng(0).random((1600, 1600, 1)) < 0.5, 0, 255)
                               .astype(np.uint8).repeat(3, axis=2), quality=95)),
])
def test_an_ai_cut_that_would_stall_answers_by_its_deadline_and_the_next_call_runs(server, name, make):
    uploaded = server.upload(name, make())
    assert uploaded.status_code == 200, uploaded.text
    path = uploaded.json()["file_paths"][0]
    size = 4500 if name != "noise.jpg" else 1600
    started = time.monotonic()
    stalled = ai_cut(server, path, [{"x": size // 2, "y": size // 2}], negative=[{"x": 10, "y": 10}])
    # Done (fast enough) or stopped at the deadline: either way a JSON answer, never a hang.
    assert stalled.status_code in (200, 504), stalled.text
    if stalled.status_code == 504:
        assert "took too long" in stalled.json()["detail"]
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + OVERSHOOT_S, f"the call held the slot {elapsed:.0f} s past a {TIMEOUT_S} s budget"
    normal = server.upload("normal.jpg", normal_photo())
    assert normal.status_code == 200, normal.text
    started_following = time.monotonic()
    following = ai_cut(server, normal.json()["file_paths"][0], [{"x": 160, "y": 120}])
    print(f"{name}: {stalled.status_code} in {elapsed:.1f} s, then {following.status_code} in "
          f"{time.monotonic() - started_following:.1f} s")
    assert following.status_code == 200, (following.text, f"the stalled call took {elapsed:.1f} s")


def huge_flat_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (90, 90, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def test_concurrent_uploads_of_small_files_that_decode_huge_keep_the_worker_small(fresh_server):
    server = fresh_server
    # 7,000 x 7,000 is 49 MP, just under the default limit: a full decode holds 147 MB per file.
    png = huge_flat_png(7000)
    crafted = tiny_jpeg_declaring(7000, 7000)
    assert len(png) < 400_000 and len(crafted) < 1000
    warm = server.upload("warm.png", huge_flat_png(64))  # the code paths are loaded before measuring
    assert warm.status_code == 200
    before = server.worker_peak_mb()
    files = [(f"big{n}.png", png) for n in range(6)] + [(f"crafted{n}.jpg", crafted) for n in range(2)]
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        responses = list(pool.map(lambda item: server.upload(*item, folder="huge"), files))
    assert [r.status_code for r in responses] == [200] * len(files), [r.text for r in responses]
    listing = server.session.get(server.base + "/v3/file-ops/info/", params={"file_path": "huge/big0.png"}).json()
    assert (listing["width"], listing["height"]) == (7000, 7000)
    grown = server.worker_peak_mb() - before
    print(f"worker peak memory: {before:.0f} MB before, +{grown:.0f} MB after {len(files)} concurrent uploads")
    # Each probe holds a 1 MB inflate block (PNG) or a 1/8-scale decode of 2.3 MB (JPEG); 100 MB leaves
    # room for Django and the allocator, and is less than one full decode (147 MB), let alone eight.
    assert grown < 100, f"the worker's peak memory grew by {grown:.0f} MB"
