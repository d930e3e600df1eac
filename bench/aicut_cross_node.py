"""AI Cut across nodes: first click, refinement on the same node and on the other node, and what sharing costs.

Three parts, on the first --limit GrabCut photos:
  * in-process, the shared cache's codec on real model outputs (MobileSAM's embedding and low-res mask,
    the isnet-medium prior): bytes before and after, encode and decode times;
  * in-process, whether half precision moves the answer: the robot user's NoC@85/90 with SAM alone and
    with SAM behind a shared tier (a dict as the store);
  * through HTTP on two gunicorn nodes from tools/cluster.py (PostgreSQL, Redis, SeaweedFS): each photo is
    uploaded twice (two JPEG qualities: two content hashes); the first click on both copies goes to node A,
    then --clicks robot clicks go, interleaved, to node A for one copy and to node B for the other. Also
    each node's encoder passes (from /metrics) and the bytes Redis holds per photo and per click.

    .venv/bin/python bench/aicut_cross_node.py --limit 10 [--clicks 6] [--write docs/BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATASETS = Path(os.environ.get("BGCUT_DATASETS") or ROOT.parent / "shared" / "datasets")

from bench.aicut_noc import dataset_items, truth_load  # noqa: E402
from bench.api_latency import section_write  # noqa: E402
from vision.aicut import AICut  # noqa: E402
from vision.aicut_robot import noc_mean, robot_run  # noqa: E402
from vision.aicut_shared import SharedTier  # noqa: E402
from vision.aicut_types import Point  # noqa: E402
from vision.array_codec import array_decode, array_encode  # noqa: E402
from vision.models import ModelStore  # noqa: E402
from vision.sam import SAM_MODELS, SamModel, SamSegmenter  # noqa: E402

REDIS_DB = 12  # the bench's own (the cluster tests use 3, `make cluster` 2, `make test-shared` 14)
TTL = 7200


class DictStore:
    """The shared store in-process: Django's cache calls over a dict."""

    def __init__(self):
        self.values = {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value, timeout=None):
        self.values[key] = value


def timed(function, repeat: int = 3) -> tuple[float, object]:
    """(best of `repeat` wall times in ms, the last result): the machine is shared, the minimum is the cost."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


def codec_rows(images: list[np.ndarray], model: SamModel, store: ModelStore) -> list[tuple[str, ...]]:
    samples: dict[str, list[tuple[int, int, float, float]]] = {"embedding": [], "low-res": [], "prior": []}
    for n, image in enumerate(images):
        sam = SamSegmenter(model=model)
        height, width = image.shape[:2]
        centre = Point(width // 2, height // 2, True)
        sam.segment(image=image, image_key=str(n), points=[centre])
        prior_cut = AICut(store=store, prior_model="isnet-medium")
        prior_cut.segment(image=image, image_key=str(n), points=[centre])
        arrays = {"embedding": sam.cache.get(("embedding", sam.name, str(n))),
                  "low-res": sam.cache.get(("low-res", sam.name, str(n), (centre,), None)),
                  "prior": prior_cut.cache.get(("prior", "isnet-medium", str(n)))}
        for kind, array in arrays.items():
            encode_ms, data = timed(lambda: array_encode(array))
            decode_ms, _ = timed(lambda: array_decode(data))
            samples[kind].append((array.nbytes, len(data), encode_ms, decode_ms))
    rows = []
    for kind, values in samples.items():
        raw, packed, encode_ms, decode_ms = (statistics.median(column) for column in zip(*values))
        rows.append((kind, f"{raw / 1024:,.0f} KiB", f"{packed / 1024:,.0f} KiB ({packed / raw:.0%})",
                     f"{encode_ms:.1f} ms", f"{decode_ms:.1f} ms"))
    return rows


def quality_rows(items, images, model: SamModel) -> list[tuple[str, ...]]:
    """The robot user's NoC with SAM alone and with SAM behind a shared tier (its arrays in half precision)."""
    runs = {"SAM alone (float32 in the process)": [], "SAM behind a shared tier (float16 round trip)": []}
    for (stem, _, mask_path), image in zip(items, images):
        truth = truth_load(mask_path, inverted=False)
        for label, shared in zip(runs, (None, SharedTier(store=DictStore(), ttl_seconds=TTL))):
            sam = SamSegmenter(model=model, shared=shared)
            runs[label].append(robot_run(truth=truth, segment=lambda points: np.where(
                sam.segment(image=image, image_key=stem, points=points).alpha > 127, 255, 0).astype(np.uint8)))
    rows = [(label, f"{noc_mean(runs=r, threshold=0.85):.2f}", f"{noc_mean(runs=r, threshold=0.90):.2f}",
             f"{np.mean([run.ious[0] for run in r]):.3f}") for label, r in runs.items()]
    return rows


def click_sequences(items, images, model: SamModel, clicks: int) -> list[list[Point]]:
    """The robot's first `clicks` clicks on each photo (never stopping early), from SAM alone."""
    sequences = []
    for (stem, _, mask_path), image in zip(items, images):
        truth = truth_load(mask_path, inverted=False)
        sam = SamSegmenter(model=model)
        recorded: list[Point] = []

        def segment(points):
            recorded[:] = points
            alpha = sam.segment(image=image, image_key=stem, points=points).alpha
            return np.where(alpha > 127, 255, 0).astype(np.uint8)

        robot_run(truth=truth, segment=segment, max_clicks=clicks, stop_at=2.0)
        sequences.append(list(recorded))
    return sequences


def jpeg(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def metric(http, node, name: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = http.get(f"{node.base}/metrics", timeout=30).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples if s.name == name)


def cluster_rows(images: list[np.ndarray], sequences: list[list[Point]], threads: int) -> list[tuple[str, str]]:
    import redis

    from tools.cluster import REDIS, cluster_start, postgres_database_create, postgres_database_drop, redis_flush

    database, cache_url = "bgcut_bench_xnode", f"{REDIS}/{REDIS_DB}"
    redis_flush(cache_url)
    scratch = tempfile.TemporaryDirectory(prefix="bgcut-xnode-")
    cluster = cluster_start(folder=Path(scratch.name), database_url=postgres_database_create(database, drop_first=True),
                            cache_url=cache_url, nodes=2,
                            extra_env={"BGCUT_RATE_LIMIT": "100000/min", "BGCUT_DEFAULT_CREDITS": "1000000",
                                       "BGCUT_INFERENCE_TIMEOUT": "600", "BGCUT_LOG_LEVEL": "ERROR",
                                       "BGCUT_SWEEP_INTERVAL": "0", "BGCUT_ONNX_THREADS": str(threads)})
    try:
        a, b = cluster.nodes
        http = requests.Session()
        http.headers["Authorization"] = f"Token {cluster.api_key}"
        folder = "xnode" + secrets.token_hex(4)

        def upload(name: str, data: bytes) -> str:
            response = http.post(f"{a.base}/v3/file-ops/upload/", files={"files": (name, data)},
                                 data={"upload_path": folder}, timeout=60)
            response.raise_for_status()
            return response.json()["file_paths"][0]

        def click(node, path: str, points: list[Point], n: int) -> float:
            body = {"input_file_path": path, "output_file_path": f"{folder}/out-{n}.jpg", "output_type": "mask",
                    "foreground_points": [{"x": p.x, "y": p.y} for p in points if p.positive],
                    "background_points": [{"x": p.x, "y": p.y} for p in points if not p.positive]}
            started = time.perf_counter()
            response = http.post(f"{node.base}/v3/tools/ai/ai-cut/segment/", json=body, timeout=600)
            seconds = time.perf_counter() - started
            response.raise_for_status()
            return seconds

        encoder = {node.name: metric(http, node, "bgcut_aicut_encoder_passes_total") for node in (a, b)}
        shared_hits_b = metric(http, b, "bgcut_aicut_shared_cache_hits_total")
        first, same, other, calls = [], [], [], 0
        for n, (image, points) in enumerate(zip(images, sequences)):
            here, there = upload(f"{n}a.jpg", jpeg(image, 92)), upload(f"{n}b.jpg", jpeg(image, 93))
            for path in (here, there):
                calls += 1
                first.append(click(a, path, points[:1], calls))
            for count in range(2, len(points) + 1):  # interleaved: both series see the same load
                calls += 1
                same.append(click(a, here, points[:count], calls))
                calls += 1
                other.append(click(b, there, points[:count], calls))
        encoder = {node.name: metric(http, node, "bgcut_aicut_encoder_passes_total") - encoder[node.name]
                   for node in (a, b)}
        shared_hits_b = metric(http, b, "bgcut_aicut_shared_cache_hits_total") - shared_hits_b
        store = redis.Redis.from_url(cache_url)
        usage: dict[str, list[int]] = {}
        for key in store.scan_iter(match="*aicut:v1:*", count=1000):
            kind = key.decode().split("aicut:v1:", 1)[1].split(":", 1)[0]
            usage.setdefault(kind, []).append(store.memory_usage(key) or 0)
    finally:
        cluster.stop()
        postgres_database_drop(database)
        redis_flush(cache_url)
        scratch.cleanup()
    p50 = {name: statistics.median(values) for name, values in (("first", first), ("same", same), ("other", other))}
    rows = [
        ("first click (node A), p50", f"{p50['first']:.2f} s ({len(first)} calls)"),
        ("refinement click on the same node (A), p50", f"{p50['same']:.3f} s ({len(same)} calls)"),
        ("refinement click on the other node (B), p50", f"{p50['other']:.3f} s ({len(other)} calls)"),
        ("other node / same node (target ≤ 2)", f"**{p50['other'] / p50['same']:.2f}**"),
        ("refinement on B, p95 (the first one on B fetches and decodes the photo)",
         f"{np.percentile(other, 95):.3f} s (A: {np.percentile(same, 95):.3f} s)"),
        ("encoder passes: node A / node B", f"{encoder['node-a']:.0f} / {encoder['node-b']:.0f}"),
        ("node B's hits in the shared cache", f"{shared_hits_b:.0f}"),
    ]
    for kind, sizes in sorted(usage.items()):
        rows.append((f"Redis memory per `{kind}` entry (MEMORY USAGE, mean of {len(sizes)})",
                     f"{np.mean(sizes) / 1024:,.0f} KiB"))
    return rows


def table(header: tuple[str, ...], rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", nargs="?", type=Path, default=DATASETS / "GrabCut")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--clicks", type=int, default=6,
                        help="robot clicks per photo over HTTP (the first, then refinements)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads, in-process and per node")
    parser.add_argument("--skip-quality", action="store_true", help="leave out the NoC comparison (the slow part)")
    parser.add_argument("--write", type=Path, help="replace the aicutxnode section of this markdown file")
    args = parser.parse_args()
    items = dataset_items(args.dataset, args.limit)
    images = [np.asarray(Image.open(path).convert("RGB")) for _, path, _ in items]
    load_before = os.getloadavg()
    model = SamModel(files=SAM_MODELS["mobilesam"], models_dir=ROOT / "models", threads=args.threads)
    codec = codec_rows(images, model, ModelStore(ROOT / "models", threads=args.threads))
    print(table(("array", "float32 in the process", "in the shared cache", "encode", "decode"), codec), flush=True)
    quality = [] if args.skip_quality else quality_rows(items, images, model)
    if quality:
        print(table(("GrabCut, robot user", "NoC@85", "NoC@90", "IoU after 1 click"), quality), flush=True)
    sequences = click_sequences(items, images, model, args.clicks)
    del model
    cluster = cluster_rows(images, sequences, args.threads)
    load_after = os.getloadavg()
    print(table(("two nodes over HTTP", "result"), cluster))
    conditions = (
        f"The first {len(images)} photos of {args.dataset.name}, {args.clicks} robot clicks each over HTTP; mobilesam, "
        f"{args.threads} onnxruntime threads per node, two gunicorn nodes (1 worker, 4 threads) on one machine of "
        f"{os.cpu_count()} cores with PostgreSQL, Redis and SeaweedFS on loopback; 1-minute load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (other work shared the machine). "
        "Encode/decode: best of 3, median over photos. A refinement over HTTP here also encodes the mask's JPEG, "
        "writes it to S3 and the job log to PostgreSQL, all on the same cores: compare the two refinement rows "
        "with each other, not with the single-node latency section. `bench/aicut_cross_node.py`."
    )
    body = "\n\n".join(part for part in (
        "## AI Cut across nodes (issue 9): shared embedding, low-res mask and prior",
        table(("array", "float32 in the process", "in the shared cache", "encode", "decode"), codec),
        quality and table(("GrabCut, robot user", "NoC@85", "NoC@90", "IoU after 1 click"), quality),
        table(("two nodes over HTTP", "result"), cluster),
        conditions,
    ) if part)
    print("\n" + conditions)
    if args.write:
        section_write(args.write, "aicutxnode", body)


if __name__ == "__main__":
    main()
