"""AI Cut click latency through the HTTP API: the first click, the refinement clicks, and where their time goes.

    .venv/bin/python bench/aicut_click_latency.py                  # gunicorn (gunicorn.conf.py), 4 GrabCut photos + 12 MP
    .venv/bin/python bench/aicut_click_latency.py --photos 8 --refinements 10 --output-type cutout
    .venv/bin/python bench/aicut_click_latency.py --in-process     # Django's test client: stages in wall and CPU time

Each photo is uploaded once; the robot user (vision/aicut_robot.py) makes the first click and then
`--refinements` more, every request carrying all the clicks so far (the editor's way). The 12 MP photo is
the first GrabCut photo upscaled to 4000x3000, its clicks the robot's on the original scaled up.

Server mode times each POST /v3/tools/ai/ai-cut/segment/ from the client and reads the job's own stage
timings (engine/tools.py: load, admit, segment, encode, store) from the server's database; "outside the
job" is the rest (HTTP, middleware, authentication, the job's first and last database writes).
In-process mode profiles the refinement clicks twice with cProfile, once timed by the wall clock and once
by the process's CPU time, and prints the cumulative time of each stage of the request path per click.
The machine's load average is printed with the figures: compare runs made under the same load.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.aicut_robot import click_next  # noqa: E402
from vision.aicut_types import Point  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "GrabCut"
SEGMENT = "/v3/tools/ai/ai-cut/segment/"
BIG = (4000, 3000)

# The request path's stages, as cProfile names them: (label, file suffix, function name).
STAGES = [
    ("whole view (AICutView.post)", "engine/tool_views.py", "post"),
    ("aicut_segment", "engine/tools.py", "aicut_segment"),
    ("file lookup (files.file_get)", "engine/files.py", "file_get"),
    ("decoded pixels (aicut_image_load)", "vision/aicut_io.py", "aicut_image_load"),
    ("prompt_check", "vision/aicut_io.py", "prompt_check"),
    ("job_record (job row, charge, close)", "engine/jobs.py", "job_record"),
    ("  job_session_of", "engine/jobs.py", "job_session_of"),
    ("  job_charge", "engine/jobs.py", "job_charge"),
    ("  job_close", "engine/jobs.py", "job_close"),
    ("inference gate slot", "engine/inference.py", "slot"),
    ("segment (SamSegmenter.segment)", "vision/sam.py", "segment"),
    ("  logits", "vision/sam.py", "logits"),
    ("    decoder pass (SamModel.decode)", "vision/sam.py", "decode"),
    ("  alpha_from_logits", "vision/sam.py", "alpha_from_logits"),
    ("    guided filter (alpha_guided_refine, before)", "vision/salient.py", "alpha_guided_refine"),
    ("    guided filter: the image's stats", "vision/salient.py", "guide_stats"),
    ("    guided filter: coefficients", "vision/salient.py", "guided_coefficients"),
    ("  selection_from_alpha", "vision/segmenter.py", "selection_from_alpha"),
    ("selection_encode", "vision/aicut_io.py", "selection_encode"),
    ("file_write_bytes", "engine/files.py", "file_write_bytes"),
    ("memory_trim (after the response)", "vision/memory.py", "memory_trim"),
    ("sqlite commits", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
]


def photos_load(dataset: Path, count: int, *, big: bool) -> list[tuple[str, bytes, np.ndarray, float]]:
    """(name, JPEG bytes, ground truth at the photo's own size, scale from truth to photo) per photo."""
    images = sorted((dataset / "images").glob("*.jpg"))[:count]
    if not images:
        raise SystemExit(f"no photos in {dataset / 'images'}: give --dataset")
    out = []
    for path in images:
        truth = np.asarray(Image.open(dataset / "masks" / f"{path.stem}.png").convert("L"))
        out.append((path.stem, path.read_bytes(), truth, 1.0))
    if big:
        first = images[0]
        image = Image.open(first).convert("RGB")
        buffer = io.BytesIO()
        image.resize(BIG, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=92)
        truth = np.asarray(Image.open(dataset / "masks" / f"{first.stem}.png").convert("L"))
        out.append((f"{first.stem}-12MP", buffer.getvalue(), truth, BIG[0] / image.width))
    return out


def clicks_drive(*, truth: np.ndarray, scale: float, clicks: int, segment) -> list[float]:
    """The robot's clicks on one photo; `segment(points)` answers (seconds, mask). Seconds per click."""
    points: list[Point] = []
    mask = None
    seconds = []
    for _ in range(clicks):
        click = click_next(mask=mask, truth=truth)
        if click is None:  # nothing left to fix: click again where the last click was
            click = points[-1]
        points.append(click)
        scaled = [Point(min(int(p.x * scale), int(truth.shape[1] * scale) - 1),
                        min(int(p.y * scale), int(truth.shape[0] * scale) - 1), p.positive) for p in points]
        elapsed, selected = segment(scaled)
        seconds.append(elapsed)
        if selected.shape != truth.shape:
            selected = np.asarray(Image.fromarray(selected).resize(truth.shape[::-1], Image.Resampling.BILINEAR))
        mask = np.where(selected > 127, 255, 0).astype(np.uint8)
    return seconds


def segment_body(*, input_path: str, points, output_type: str) -> dict:
    return {"input_file_path": input_path, "output_file_path": "bench/aicut-out.jpg", "output_type": output_type,
            "foreground_points": [{"x": p.x, "y": p.y} for p in points if p.positive],
            "background_points": [{"x": p.x, "y": p.y} for p in points if not p.positive]}


def worker_cpu_seconds(pid: int) -> float:
    """CPU time of all the worker's threads (the request's, onnxruntime's pool), in nanoseconds' precision.

    On a machine shared with other work a request's wall time mostly measures the others; its CPU time is
    what it would cost on idle cores (a little more: caches are shared too)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def p50_ms(values) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms" if values else "-"


# ---- through gunicorn ---------------------------------------------------------------------------

def server_run(args) -> None:
    import requests

    from tests.live_server import children_of, free_port, gunicorn_start, gunicorn_stop, manage, server_prepare, wait_for

    var = Path(tempfile.mkdtemp(prefix="bgcut-clicks-"))
    env = server_prepare(var, name="bench-clicks", BGCUT_RATE_LIMIT="100000/min", BGCUT_DEFAULT_CREDITS="1000000",
                         BGCUT_INFERENCE_TIMEOUT="600")
    key = manage("create_api_key", "bench", env=env).strip().splitlines()[-1]
    port = free_port()
    process = gunicorn_start(port=port, env=env, log=var / "gunicorn.log", threads=4, timeout=600)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process=process, timeout=120)
        (worker,) = children_of(process.pid)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {key}"
        rows = []
        for name, data, truth, scale in photos_load(args.dataset, args.photos, big=not args.no_big):
            uploaded = session.post(f"{base}/v3/file-ops/upload/", files={"files": (f"{name}.jpg", data)},
                                    data={"upload_path": "bench"}, timeout=120)
            uploaded.raise_for_status()
            input_path = uploaded.json()["file_paths"][0]

            def segment(points):
                cpu = worker_cpu_seconds(worker)
                started = time.perf_counter()
                answer = session.post(base + SEGMENT, json=segment_body(
                    input_path=input_path, points=points, output_type=args.output_type), timeout=600)
                elapsed = time.perf_counter() - started
                cpu_seconds.append(worker_cpu_seconds(worker) - cpu)
                answer.raise_for_status()
                mask = session.get(f"{base}/v3/files/bench/aicut-out.jpg", timeout=120)
                mask.raise_for_status()
                return elapsed, np.asarray(Image.open(io.BytesIO(mask.content)).convert("L"))

            cpu_seconds: list[float] = []
            seconds = clicks_drive(truth=truth, scale=scale, clicks=1 + args.refinements, segment=segment)
            rows.append((name, seconds, cpu_seconds))
            print(f"  {name:16s} first {seconds[0] * 1000:6.0f} ms, refinement p50 {p50_ms(seconds[1:])}", flush=True)
        with sqlite3.connect(var / "db.sqlite3") as db:
            jobs = db.execute("SELECT timings, duration_ms FROM engine_job WHERE tool = 'ai-cut' ORDER BY id").fetchall()
    finally:
        gunicorn_stop(process)
        shutil.rmtree(var, ignore_errors=True)
    report_server(rows=rows, jobs=[(json.loads(t), d) for t, d in jobs], args=args)


def report_server(*, rows, jobs, args) -> None:
    """The per-photo-size table: HTTP p50 of first and refinement clicks, and the job's stages at p50."""
    print(f"\nload average at the end: {load_average()}; output_type {args.output_type}\n")
    print("| photos | clicks | first click p50 | refinement p50 | server CPU per refinement p50 | refinement stages p50 (ms) "
          "| outside the job p50 |")
    print("|---|---|---|---|---|---|---|")
    index = 0
    groups: dict[str, list] = {"GrabCut": [], "12 MP": []}
    for name, seconds, cpu in rows:
        groups["12 MP" if name.endswith("12MP") else "GrabCut"].append((seconds, jobs[index:index + len(seconds)], cpu))
        index += len(seconds)
    for group, items in groups.items():
        if not items:
            continue
        first = [s[0] for s, _, _ in items]
        refine = [x for s, _, _ in items for x in s[1:]]
        refine_cpu = [x for _, _, cpu in items for x in cpu[1:]]
        refine_jobs = [j for _, js, _ in items for j in js[1:]]
        stages = {}
        for timings, _ in refine_jobs:
            for stage, ms in timings.items():
                stages.setdefault(stage, []).append(ms)
        outside = [s * 1000 - duration for (s, (_, duration)) in
                   zip(refine, refine_jobs) if duration is not None]
        stage_text = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in stages.items())
        print(f"| {group} ({len(items)}) | {len(first)} + {len(refine)} | {p50_ms(first)} | **{p50_ms(refine)}** "
              f"| {p50_ms(refine_cpu)} | {stage_text} | {statistics.median(outside):.0f} ms |")


# ---- in-process ----------------------------------------------------------------------------------

def in_process_run(args) -> None:
    var = Path(tempfile.mkdtemp(prefix="bgcut-clicks-"))
    try:
        in_process_profile(args, var)
    finally:
        shutil.rmtree(var, ignore_errors=True)


def in_process_profile(args, var: Path) -> None:
    (var / "storage" / "tmp").mkdir(parents=True)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bgcut_site.settings", "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
        "DJANGO_DEBUG": "false", "BGCUT_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://bench-clicks", "BGCUT_STORAGE_ROOT": str(var / "storage"),
        "BGCUT_SWEEP_INTERVAL": "0", "BGCUT_LOG_LEVEL": "WARNING", "BGCUT_RATE_LIMIT": "100000/min",
        "BGCUT_DEFAULT_CREDITS": "1000000", "BGCUT_INFERENCE_TIMEOUT": "600",
    })
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from engine.keys import account_get_or_create, api_key_create

    call_command("migrate", verbosity=0)
    _, key = api_key_create(account=account_get_or_create(name="bench"))
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")
    for name, data, truth, scale in photos_load(args.dataset, args.photos, big=not args.no_big):
        from django.core.files.uploadedfile import SimpleUploadedFile

        answer = client.post("/v3/file-ops/upload/", {"files": SimpleUploadedFile(f"{name}.jpg", data, "image/jpeg"),
                                                      "upload_path": "bench"})
        input_path = answer.json()["file_paths"][0]
        profiles = {"wall": cProfile.Profile(time.perf_counter), "cpu": cProfile.Profile(time.process_time)}
        profile_now: list = []

        def segment(points):
            body = json.dumps(segment_body(input_path=input_path, points=points, output_type=args.output_type))
            profile = profile_now[0] if profile_now else None
            started = time.perf_counter()
            if profile is not None:
                profile.enable()
            answer = client.post(SEGMENT, body, content_type="application/json")
            if profile is not None:
                profile.disable()
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.content
            stored = client.get("/v3/files/bench/aicut-out.jpg")
            return elapsed, np.asarray(Image.open(io.BytesIO(b"".join(stored))).convert("L"))

        clicks_drive(truth=truth, scale=scale, clicks=1, segment=segment)  # the first click: the encoder pass
        counts = {}
        for kind, profile in profiles.items():
            profile_now[:] = [profile]
            seconds = clicks_drive(truth=truth, scale=scale, clicks=1 + args.refinements, segment=segment)
            counts[kind] = len(seconds)
        print(f"\n{name}: {args.refinements + 1} clicks per profile, load average {load_average()}")
        print("| stage | wall per click | CPU per click |")
        print("|---|---|---|")
        stats = {kind: pstats.Stats(profile).stats for kind, profile in profiles.items()}
        for label, suffix, function in STAGES:
            cells = []
            for kind in ("wall", "cpu"):
                total = sum(entry[3] for (file, _, fn), entry in stats[kind].items()
                            if fn == function and file.endswith(suffix))
                cells.append(f"{total / counts[kind] * 1000:.1f} ms")
            print(f"| {label} | {cells[0]} | {cells[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DATASET, help="a folder with images/ and masks/")
    parser.add_argument("--photos", type=int, default=4, help="GrabCut photos (sorted by name)")
    parser.add_argument("--refinements", type=int, default=10, help="clicks after the first, per photo")
    parser.add_argument("--output-type", default="mask", choices=("mask", "cutout"), help="the editor asks for mask")
    parser.add_argument("--no-big", action="store_true", help="leave out the 12 MP photo")
    parser.add_argument("--in-process", action="store_true", help="profile stages in-process (wall and CPU)")
    args = parser.parse_args()
    if args.in_process:
        in_process_run(args)
    else:
        server_run(args)


if __name__ == "__main__":
    main()
