"""Time remove-bg's rendering step on a 12-megapixel photo: one foreground estimation + 3 variants.

The variants are the issue's: full-size PNG, 500,000-pixel WebP on white, AVIF with autocrop.
Usage: .venv/bin/python bench/render_speed.py [../shared/datasets/GrabCut] [--runs 3] [--compare]
Two photos: the dataset images with the median and the largest subject, enlarged to 4000×3000 with
sensor-like grain (so PNG sizes are realistic), alpha = the dataset's mask with soft edges; with no
dataset a synthetic scene is used.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vision import render  # noqa: E402
from vision.render import Variant, cutout_prepare, cutout_render  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
VARIANTS = {
    "PNG full size": Variant(format="png", max_resolution=25_000_000),
    "WebP 500k on white": Variant(
        format="webp", max_resolution=500_000, background_color=(255, 255, 255, 255)
    ),
    "AVIF autocrop": Variant(format="avif", autocrop=True),
}


def photo_make(dataset: Path | None, *, pick: str) -> tuple[np.ndarray, np.ndarray, str]:
    """A 12 MP RGB photo and a soft float32 alpha; `pick` is "median" or "largest" subject."""
    rng = np.random.default_rng(0)
    masks = sorted((dataset / "masks").glob("*.png")) if dataset else []
    if masks:
        # The largest subject is the slowest case for PNG and AVIF; the median one is typical.
        coverage = {path: (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).mean() for path in masks}
        ranked = sorted(coverage, key=coverage.get)
        mask_path = ranked[-1] if pick == "largest" else ranked[len(ranked) // 2]
        source = dataset / "images" / f"{mask_path.stem}.jpg"
        small = cv2.cvtColor(cv2.imread(str(source)), cv2.COLOR_BGR2RGB)
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        name = f"{pick} subject: {source.name} ({coverage[mask_path]:.0%} of the frame)"
    else:
        small = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
        mask = np.zeros((300, 400), np.uint8)
        cv2.ellipse(mask, (200, 150), (120, 100), 0, 0, 360, 255, -1)
        name = "synthetic"
    photo = cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 3, photo.shape).astype(np.int16)
    photo = np.clip(photo.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    hard = cv2.resize((mask > 127).astype(np.uint8) * 255, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(hard, (0, 0), 4).astype(np.float32) / 255
    return photo, alpha, name


def timed(fn, runs: int) -> tuple[float, float, object]:
    """Median wall seconds and median CPU seconds (all threads) of `runs` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus), result


def scenario_run(photo: np.ndarray, alpha: np.ndarray, *, runs: int, compare: bool) -> tuple[list, float]:
    """Table rows for one photo, and the peak MB newly allocated by one whole request."""
    rows = []
    wall, cpu, cutout = timed(lambda: cutout_prepare(image=photo, alpha=alpha), runs)
    rows.append(("foreground estimation (once)", wall, cpu, "", ""))
    total_wall, total_cpu = wall, cpu
    for label, variant in VARIANTS.items():
        wall, cpu, data = timed(lambda v=variant: cutout_render(cutout=cutout, variant=v), runs)
        with Image.open(io.BytesIO(data)) as decoded:
            size = f"{decoded.width}×{decoded.height}"
        rows.append((label, wall, cpu, size, f"{len(data) / 1e6:.2f} MB"))
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
    rows.append(("**total, 3 variants**", total_wall, total_cpu, "", ""))
    if compare:
        rgba = np.ascontiguousarray(cutout.pixels)
        for level in (1, 6):
            def pil_png(level=level):
                buffer = io.BytesIO()
                Image.fromarray(rgba).save(buffer, "PNG", compress_level=level)
                return buffer.getvalue()
            wall, cpu, data = timed(pil_png, 1)
            size = f"{WIDTH}×{HEIGHT}"
            rows.append((f"(Pillow's PNG writer, level {level})", wall, cpu, size, f"{len(data) / 1e6:.2f} MB"))
    # Peak of new numpy/OpenCV-output allocations in one request (inputs excluded), measured in
    # a separate run because tracing slows everything down.
    tracemalloc.start()
    shared = cutout_prepare(image=photo, alpha=alpha)
    for variant in VARIANTS.values():
        cutout_render(cutout=shared, variant=variant)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return rows, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="../shared/datasets/GrabCut")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="also time Pillow's PNG writer")
    args = parser.parse_args()
    dataset = Path(args.dataset)
    dataset = dataset if dataset.is_dir() else None

    print(f"render_speed: {WIDTH}×{HEIGHT} photo, median of {args.runs} runs, AVIF speed "
          f"{render.AVIF_SPEED}, WebP method {render.WEBP_METHOD}; CPU s counts every thread")
    for pick in ("median", "largest") if dataset else ("median",):
        photo, alpha, name = photo_make(dataset, pick=pick)
        rows, peak_mb = scenario_run(photo, alpha, runs=args.runs, compare=args.compare)
        print(f"\n{name}\n")
        print("| step | wall s | CPU s | output size | bytes |\n|---|---:|---:|---|---:|")
        for label, wall, cpu, size, nbytes in rows:
            print(f"| {label} | {wall:.3f} | {cpu:.3f} | {size} | {nbytes} |")
        inputs_mb = (photo.nbytes + alpha.nbytes) / 1e6
        print(f"\npeak memory newly allocated by one request's rendering: {peak_mb:.0f} MB "
              f"(beside the input image + float alpha: {inputs_mb:.0f} MB)")


if __name__ == "__main__":
    main()
