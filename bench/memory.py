"""Peak memory of one gunicorn worker: every model loaded, then 12 MP remove-bg calls, with their latency.

Starts its own gunicorn (one worker, 4 threads, a scratch database and storage), loads every model the
server uses (a small remove-bg at quality=high and an AI Cut click), reads the worker's VmHWM, then runs
a 12-megapixel remove-bg at quality=high with 3 variants --repeat times and reads VmHWM and VmRSS again.
Usage: .venv/bin/python bench/memory.py [--repeat 3] [--write docs/BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from api_latency import DATASETS, Api, Server, section_write, twelve_megapixel_photo  # noqa: E402

VARIANTS = [
    {"output_file_path": "bench/full.png", "format": "png", "max_resolution": 25_000_000},
    {"output_file_path": "bench/thumb.webp", "max_resolution": 500_000, "background_color": "#ffffff"},
    {"output_file_path": "bench/crop.avif", "autocrop": True},
]


def worker_memory_mb(server: Server) -> dict[str, float]:
    """VmHWM (peak) and VmRSS (now) of the worker, the master's only child."""
    pid = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()[0]
    status = Path(f"/proc/{pid}/status").read_text()
    return {name: int(re.search(rf"{name}:\s+(\d+) kB", status).group(1)) / 1024 for name in ("VmHWM", "VmRSS")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    server = Server()
    try:
        api = Api(server.base, server.key)
        ordinary = sorted((DATASETS / "ECSSD-dev" / "images").glob("*.jpg"))[1]
        small = api.upload(ordinary.read_bytes(), "ordinary.jpg")
        api.timed("/v3/tools/ai/remove-bg/process/",
                  {"input_file_path": small, "output_variants": [{"output_file_path": "bench/s.png", "quality": "high"}]})
        api.timed("/v3/tools/ai/ai-cut/segment/", {"input_file_path": small, "output_file_path": "bench/seg.jpg",
                                                    "foreground_points": [{"x": 100, "y": 100}]})
        loaded = worker_memory_mb(server)
        big = api.upload(twelve_megapixel_photo(), "twelve.jpg")
        body = {"input_file_path": big, "output_variants": VARIANTS}
        times = [api.timed("/v3/tools/ai/remove-bg/process/", body) for _ in range(args.repeat)]
        after = worker_memory_mb(server)
    finally:
        server.close()
    rows = [
        ("every model loaded (remove-bg high + AI Cut on a small photo): peak RSS", f"{loaded['VmHWM']:.0f} MB"),
        ("then 12 MP remove-bg, quality=high, 3 variants: worker peak RSS (VmHWM)", f"**{after['VmHWM']:.0f} MB**"),
        ("RSS after the last call (VmRSS)", f"{after['VmRSS']:.0f} MB"),
        (f"12 MP remove-bg latency over HTTP, median of {args.repeat} (min / max)",
         f"{statistics.median(times):.2f} s ({min(times):.2f} / {max(times):.2f})"),
    ]
    table = "\n".join([f"## Peak memory per worker ({args.label})", "", "| measurement | result |", "|---|---|"]
                      + [f"| {a} | {b} |" for a, b in rows])
    print(table)
    if args.write:
        section_write(args.write, "memory", table + f"\n\n{os.cpu_count()} CPU cores; `bench/memory.py`.")


if __name__ == "__main__":
    main()
