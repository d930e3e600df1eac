"""Latency through the HTTP API, beside the model pass alone, and the worker's peak memory.

Starts its own server (gunicorn, one worker, a throwaway database and storage) unless --base is given,
then measures, each as a median of --repeat runs:
  * one remove-bg request with 3 variants (full-size PNG, 500,000-pixel WebP on white, AVIF with
    autocrop) on a 12-megapixel photo, against the model pass alone on the same pixels in-process;
  * remove-bg per quality level on an ordinary photo (p50 / p95);
  * AI Cut: the first click on an image against a refinement click (p50).
Usage: .venv/bin/python bench/api_latency.py [--repeat 5] [--write docs/BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with one worker on a scratch database, so the worker's memory is its own."""

    def __init__(self):
        self.scratch = tempfile.TemporaryDirectory(prefix="bgcut-bench-")
        self.port = free_port()
        self.env = {**os.environ, "BGCUT_VAR_DIR": self.scratch.name, "BGCUT_RATE_LIMIT": "100000/min",
                    "BGCUT_DEFAULT_CREDITS": "1000000", "BGCUT_INFERENCE_TIMEOUT": "600",
                    "BGCUT_API_BASE": f"http://127.0.0.1:{self.port}"}
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=self.env, check=True)
        out = subprocess.run([python, "manage.py", "create_api_key", "bench"], cwd=ROOT, env=self.env,
                             check=True, capture_output=True, text=True).stdout
        self.key = out.strip().splitlines()[-1]
        self.process = subprocess.Popen(
            [str(Path(python).parent / "gunicorn"), "bgcut_site.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "4", "--timeout", "600", "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                requests.get(self.base + "/v3/file-ops/usage/", timeout=1)
                break
            except requests.RequestException:  # not listening yet, or too busy starting to answer in time
                time.sleep(0.1)

    def worker_peak_rss_mb(self) -> float | None:
        """VmHWM of the worker (the master's only child)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        for pid in pids:
            match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
            if match:
                return int(match.group(1)) / 1024
        return None

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        self.scratch.cleanup()


class Api:
    def __init__(self, base: str, key: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {key}"

    def upload(self, data: bytes, name: str, folder: str = "bench") -> str:
        response = self.session.post(f"{self.base}/v3/file-ops/upload/", files={"files": (name, data)},
                                     data={"upload_path": folder}, timeout=120)
        response.raise_for_status()
        return response.json()["file_paths"][0]

    def timed(self, path: str, body: dict) -> float:
        started = time.perf_counter()
        response = self.session.post(f"{self.base}{path}", json=body, timeout=600)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        return elapsed


def twelve_megapixel_photo() -> bytes:
    """A real photo (ECSSD) upscaled to 4000×3000 and saved as a high-quality JPEG."""
    source = sorted((DATASETS / "ECSSD-dev" / "images").glob("*.jpg"))[0]
    image = Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--base")
    parser.add_argument("--api-key")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    server = None if args.base else Server()
    api = Api(args.base or server.base, args.api_key or server.key)
    try:
        rows = run(api, args.repeat)
        peak = server.worker_peak_rss_mb() if server else None
    finally:
        if server:
            server.close()
    rows.append(("worker peak RSS (VmHWM)", f"{peak:.0f} MB" if peak else "n/a (remote server)"))
    table = "\n".join(["## Latency through the HTTP API, and memory", "", "| measurement | result |", "|---|---|"]
                      + [f"| {a} | {b} |" for a, b in rows])
    print(table)
    if args.write:
        section_write(args.write, "latency", table + f"\n\n{args.repeat} runs each, medians unless marked; "
                      f"{os.cpu_count()} CPU cores; `bench/api_latency.py`.")


def run(api: Api, repeat: int) -> list[tuple[str, str]]:
    from vision.models import ModelStore
    from vision.salient import QualityPlans, alpha_predict

    rows = []
    photo = twelve_megapixel_photo()
    path = api.upload(photo, "twelve.jpg")
    variants = [
        {"output_file_path": "bench/full.png", "format": "png", "max_resolution": 25_000_000},
        {"output_file_path": "bench/thumb.webp", "max_resolution": 500_000, "background_color": "#ffffff"},
        {"output_file_path": "bench/crop.avif", "autocrop": True},
    ]
    api.timed("/v3/tools/ai/remove-bg/process/", {"input_file_path": path, "output_variants": variants[:1]})  # warm
    end_to_end = [api.timed("/v3/tools/ai/remove-bg/process/", {"input_file_path": path, "output_variants": variants})
                  for _ in range(repeat)]
    store = ModelStore(ROOT / "models", threads=2)
    pixels = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    alpha_predict(image=pixels, quality="high", store=store, plan=QualityPlans())  # load the models
    alone = []
    for _ in range(repeat):
        started = time.perf_counter()
        alpha_predict(image=pixels, quality="high", store=store, plan=QualityPlans())
        alone.append(time.perf_counter() - started)
    e2e, model = statistics.median(end_to_end), statistics.median(alone)
    rows.append(("12 MP, 3 variants (PNG full, WebP 0.5 MP on white, AVIF autocrop), end to end over HTTP",
                 f"{e2e:.2f} s"))
    rows.append(("12 MP, the quality=high model pass alone (in-process)", f"{model:.2f} s"))
    rows.append(("ratio end-to-end / model pass (target ≤ 1.3)", f"**{e2e / model:.2f}**"))

    ordinary = sorted((DATASETS / "ECSSD-dev" / "images").glob("*.jpg"))[1]
    small = api.upload(ordinary.read_bytes(), "ordinary.jpg")
    for quality in ("low", "medium", "high"):
        body = {"input_file_path": small,
                "output_variants": [{"output_file_path": f"bench/{quality}.png", "quality": quality}]}
        api.timed("/v3/tools/ai/remove-bg/process/", body)  # loads this level's models
        times = sorted(api.timed("/v3/tools/ai/remove-bg/process/", body) for _ in range(repeat))
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        width, height = Image.open(ordinary).size
        rows.append((f"remove-bg quality={quality}, {width}×{height} photo, 1 PNG variant: p50 / p95", f"{statistics.median(times):.2f} s / {p95:.2f} s"))

    firsts, refines = [], []
    for image in sorted((DATASETS / "GrabCut" / "images").glob("*.jpg"))[:repeat]:
        path = api.upload(image.read_bytes(), image.name)
        width, height = Image.open(image).size
        centre = {"x": width // 2, "y": height // 2}
        body = {"input_file_path": path, "output_file_path": "bench/seg.jpg", "foreground_points": [centre]}
        firsts.append(api.timed("/v3/tools/ai/ai-cut/segment/", body))
        body["background_points"] = [{"x": 3, "y": 3}]
        refines.append(api.timed("/v3/tools/ai/ai-cut/segment/", body))
    first, refine = statistics.median(firsts), statistics.median(refines)
    rows.append(("AI Cut first click on an image (GrabCut photos), p50", f"{first:.2f} s"))
    rows.append(("AI Cut refinement click, p50", f"{refine:.2f} s"))
    rows.append(("refinement / first click (target ≤ 0.25)", f"**{refine / first:.2f}**"))
    return rows


def section_write(path: Path, name: str, body: str) -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end -->, or append it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
