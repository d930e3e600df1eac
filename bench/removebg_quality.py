"""remove-bg quality on ECSSD-dev: MAE, mIoU, maxF and p50 latency per quality level, beside rembg.

Through the HTTP API (what the issue asks for):
    .venv/bin/python bench/removebg_quality.py --base http://127.0.0.1:8000 --api-key KEY
In-process, calling vision/ directly (for development):
    .venv/bin/python bench/removebg_quality.py --direct --limit 20
rembg's `dis_custom` session runs on the same ISNet file in its own venv (`--rembg-python`, default
/tmp/rembg-venv/bin/python; make it with `python3 -m venv /tmp/rembg-venv && /tmp/rembg-venv/bin/pip install
rembg`), interleaved image by image with ours so both see the same machine load. `--write docs/BENCHMARKS.md`
replaces only the section between the removebg markers. Metrics follow ../shared/datasets/README.md.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

QUALITIES = ("low", "medium", "high")
BETA2 = 0.3
START, END = "<!-- removebg:start -->", "<!-- removebg:end -->"

# Runs inside rembg's venv: one session, then one line in (stem, path) -> one line out (timing) per image.
REMBG_WORKER = r"""
import json, sys, time
import onnxruntime as ort
from PIL import Image
from rembg import new_session
model_path, out_dir, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
opts = ort.SessionOptions()
opts.intra_op_num_threads = threads
opts.inter_op_num_threads = 1
session = new_session("dis_custom", model_path=model_path, sess_opts=opts, providers=["CPUExecutionProvider"])
import rembg
print(json.dumps({"ready": True, "version": rembg.__version__}), flush=True)
for line in sys.stdin:
    stem, path = line.rstrip("\n").split("\t")
    image = Image.open(path)
    image.load()
    started = time.perf_counter()
    mask = session.predict(image)[0]
    seconds = time.perf_counter() - started
    mask.save(f"{out_dir}/{stem}.png")
    print(json.dumps({"stem": stem, "seconds": seconds}), flush=True)
"""


@dataclass
class Scores:
    """Running totals for one method: per-image MAE and IoU, the summed F curve, latencies."""

    mae: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)
    f_sum: np.ndarray = field(default_factory=lambda: np.zeros(256))
    seconds: list[float] = field(default_factory=list)

    def add(self, *, alpha: np.ndarray, truth: np.ndarray, seconds: float) -> None:
        mae, iou, f_curve = alpha_score(alpha=alpha, truth=truth)
        self.mae.append(mae)
        self.iou.append(iou)
        self.f_sum += f_curve
        self.seconds.append(seconds)

    def row(self) -> dict:
        n = len(self.mae)
        return {
            "maxF": float((self.f_sum / n).max()), "MAE": float(np.mean(self.mae)), "mIoU": float(np.mean(self.iou)),
            "p50": statistics.median(self.seconds), "p95": float(np.percentile(self.seconds, 95)), "n": n,
        }


def alpha_score(*, alpha: np.ndarray, truth: np.ndarray) -> tuple[float, float, np.ndarray]:
    """MAE, IoU at 0.5, and the F-beta curve over thresholds 0..255 for one 8-bit alpha and a boolean mask."""
    mae = float(np.abs(alpha.astype(np.float64) / 255.0 - truth).mean())
    pred = alpha >= 128  # alpha > 0.5 on the 8-bit scale
    union = np.logical_or(pred, truth).sum()
    iou = float(np.logical_and(pred, truth).sum() / union) if union else 1.0
    # Counts of foreground / background pixels at each alpha level; suffix sums give TP / FP for alpha >= t.
    fg = np.bincount(alpha[truth], minlength=256)[::-1].cumsum()[::-1].astype(np.float64)
    bg = np.bincount(alpha[~truth], minlength=256)[::-1].cumsum()[::-1].astype(np.float64)
    positives = float(truth.sum())
    precision = np.divide(fg, fg + bg, out=np.zeros(256), where=(fg + bg) > 0)
    recall = fg / positives if positives else np.zeros(256)
    denom = BETA2 * precision + recall
    f_curve = np.divide((1 + BETA2) * precision * recall, denom, out=np.zeros(256), where=denom > 0)
    return mae, iou, f_curve


def dataset_pairs(*, root: Path, limit: int | None) -> list[tuple[str, Path, Path]]:
    images = sorted(p for p in (root / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    pairs = [(p.stem, p, root / "masks" / f"{p.stem}.png") for p in images]
    return pairs[:limit] if limit else pairs


def alpha_to_u8(alpha: np.ndarray) -> np.ndarray:
    """What a PNG would hold: 8-bit alpha, rounded."""
    return np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)


def alpha_fit(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if alpha.shape == shape:
        return alpha
    return np.asarray(Image.fromarray(alpha).resize((shape[1], shape[0]), Image.Resampling.BILINEAR))


class DirectRunner:
    """Calls vision/ in-process. Each model runs once per image; every level reuses those passes.

    A level's latency is the sum of its models' measured pass times plus its own fusion/refinement time,
    i.e. what a request of that level costs, without paying for the shared ISNet pass three times.
    """

    label = "direct (vision in-process)"

    def __init__(self, *, models_dir: Path, threads: int, plans_json: str | None):
        from vision.models import ModelStore
        from vision.salient import QualityPlans

        self.plans = QualityPlans.from_settings(plans_json)
        self.store = ModelStore(models_dir, threads=threads)
        self.store.check(sorted(self.plans.model_names()))

    def alphas(self, *, stem: str, path: Path):
        from vision.salient import alpha_predict

        image = np.asarray(Image.open(path).convert("RGB"))
        pass_seconds, maps = {}, {}
        for name in sorted(self.plans.model_names()):
            self.store.session(name)  # loading is start-up cost, not per-image cost
            started = time.perf_counter()
            maps[name] = self.store.infer(name, image)
            pass_seconds[name] = time.perf_counter() - started
        memo = _MemoStore(self.store, maps)
        for quality in QUALITIES:
            plan = self.plans.get(quality)
            started = time.perf_counter()
            alpha = alpha_predict(image=image, quality=quality, store=memo, plan=self.plans)
            seconds = time.perf_counter() - started + sum(pass_seconds[name] for name in plan.models)
            yield quality, alpha_to_u8(alpha), seconds


class _MemoStore:
    """A ModelStore stand-in that answers infer() from passes already made for this image."""

    def __init__(self, store, maps):
        self.store, self.maps = store, maps

    def infer(self, name, image):
        return self.maps[name]


class HttpRunner:
    """Uploads each image once, then one remove-bg request per level with one PNG variant; reads its alpha."""

    label = "HTTP API"

    def __init__(self, *, base: str, api_key: str, folder: str = "bench-removebg"):
        import requests

        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {api_key}"
        self.folder = folder

    def call(self, method: str, url: str, **kwargs):
        for _ in range(20):
            response = self.http.request(method, self.base + url, timeout=300, **kwargs)
            if response.status_code in (429, 503):  # backpressure: wait as told, then retry
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code >= 400:
                raise SystemExit(f"{method} {url} -> {response.status_code}: {response.text[:300]}")
            return response
        raise SystemExit(f"{method} {url}: still refused after 20 retries")

    def alphas(self, *, stem: str, path: Path):
        uploaded = self.call("POST", "/v3/file-ops/upload/", data={"upload_path": self.folder},
                             files={"files": (path.name, path.read_bytes(), "image/jpeg")})
        input_path = uploaded.json()["file_paths"][0]
        for quality in QUALITIES:
            variant = {"output_file_path": f"{self.folder}/{stem}-{quality}.png", "format": "png", "quality": quality}
            started = time.perf_counter()
            done = self.call("POST", "/v3/tools/ai/remove-bg/process/",
                             json={"input_file_path": input_path, "output_variants": [variant]})
            output_path = done.json()["output_file_paths"][0]
            body = self.call("GET", f"/v3/files/{output_path}").content
            seconds = time.perf_counter() - started
            image = Image.open(io.BytesIO(body))
            if image.mode != "RGBA":
                raise SystemExit(f"{output_path}: expected an RGBA PNG, got {image.mode}")
            yield quality, np.asarray(image.getchannel("A")), seconds


class RembgRunner:
    """rembg's dis_custom session on our ISNet file, in its own venv (its pins are not ours)."""

    def __init__(self, *, python: str, model: Path, threads: int):
        self.out = tempfile.TemporaryDirectory(prefix="bench-rembg-")
        env = dict(os.environ, REMBG_HOME=str(model.parent.resolve()))  # rembg only loads files under its home
        self.proc = subprocess.Popen(
            [python, "-c", REMBG_WORKER, str(model.resolve()), self.out.name, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        ready = json.loads(self.proc.stdout.readline() or "{}")
        if not ready.get("ready"):
            raise SystemExit(f"rembg worker did not start with {python}; see its error above")
        self.version = ready["version"]

    def alpha(self, *, stem: str, path: Path) -> tuple[np.ndarray, float]:
        self.proc.stdin.write(f"{stem}\t{path}\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        mask = np.asarray(Image.open(f"{self.out.name}/{stem}.png").convert("L"))
        return mask, answer["seconds"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.out.cleanup()


def table_render(*, rows: dict[str, dict], note: str) -> str:
    lines = [
        "| method | maxF | MAE | mIoU | p50 s | p95 s | images |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['maxF']:.4f} | {r['MAE']:.4f} | {r['mIoU']:.4f} | {r['p50']:.2f} | "
                     f"{r['p95']:.2f} | {r['n']} |")
    return "\n".join(lines) + "\n\n" + note + "\n"


def benchmarks_write(*, path: Path, body: str) -> None:
    """Replace only the removebg section of the file (add it at the end if absent)."""
    section = f"{START}\n{body}{END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "datasets" / "ECSSD-dev")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--base", help="v3 API base URL, e.g. http://127.0.0.1:8000")
    mode.add_argument("--direct", action="store_true", help="call vision/ in-process instead of the API")
    parser.add_argument("--api-key", default=os.environ.get("BGCUT_API_KEY", ""))
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--models-dir", type=Path, default=Path(os.environ.get("BGCUT_MODELS_DIR", REPO / "models")))
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (ours and rembg's)")
    parser.add_argument("--plans", default=os.environ.get("BGCUT_QUALITY_PLANS"), help="direct mode: plans JSON")
    parser.add_argument("--rembg-python", default="/tmp/rembg-venv/bin/python")
    parser.add_argument("--no-rembg", action="store_true")
    parser.add_argument("--write", type=Path, help="write the table into this markdown file (e.g. docs/BENCHMARKS.md)")
    args = parser.parse_args(argv)

    pairs = dataset_pairs(root=args.dataset, limit=args.limit)
    if not pairs:
        raise SystemExit(f"no images under {args.dataset / 'images'}")
    if args.direct:
        runner = DirectRunner(models_dir=args.models_dir, threads=args.threads, plans_json=args.plans)
    else:
        if not args.api_key:
            raise SystemExit("--api-key (or BGCUT_API_KEY) is required with --base")
        runner = HttpRunner(base=args.base, api_key=args.api_key)
    rembg = None
    if not args.no_rembg:
        rembg = RembgRunner(python=args.rembg_python, model=args.models_dir / "isnet-medium.onnx",
                            threads=args.threads)

    scores = {quality: Scores() for quality in QUALITIES}
    rembg_scores = Scores()
    started = time.perf_counter()
    try:
        for index, (stem, image_path, mask_path) in enumerate(pairs, 1):
            truth = np.asarray(Image.open(mask_path).convert("L")) > 127
            for quality, alpha, seconds in runner.alphas(stem=stem, path=image_path):
                scores[quality].add(alpha=alpha_fit(alpha, truth.shape), truth=truth, seconds=seconds)
            if rembg:
                alpha, seconds = rembg.alpha(stem=stem, path=image_path)
                rembg_scores.add(alpha=alpha_fit(alpha, truth.shape), truth=truth, seconds=seconds)
            if index % 10 == 0 or index == len(pairs):
                running = " ".join(f"{q}: maxF {r['maxF']:.4f} MAE {r['MAE']:.4f} p50 {r['p50']:.2f}s;"
                                   for q, r in ((q, scores[q].row()) for q in QUALITIES))
                if rembg:
                    r = rembg_scores.row()
                    running += f" rembg: maxF {r['maxF']:.4f} MAE {r['MAE']:.4f} p50 {r['p50']:.2f}s"
                print(f"{index}/{len(pairs)} images, {time.perf_counter() - started:.0f} s; {running}",
                      file=sys.stderr, flush=True)
    finally:
        if rembg:
            rembg.close()

    rows = {}
    for quality in QUALITIES:
        # Over HTTP the server's settings choose the models; only direct mode knows them for sure.
        used = " + ".join(runner.plans.get(quality).models) if args.direct else "server's plan"
        rows[f"bgcut quality={quality} ({used})"] = scores[quality].row()
    if rembg:
        rows[f"rembg {rembg.version} dis_custom (isnet-medium.onnx)"] = rembg_scores.row()
    note = (
        f"ECSSD-dev, {len(pairs)} images; {runner.label}; onnxruntime {args.threads} threads; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}. maxF: beta^2 = 0.3, 256 thresholds on the 8-bit alpha, "
        "averaged over images per threshold. Latency per image: "
        + ("model passes + fusion/refinement (decode excluded; each model runs once per image and the levels "
           "share its passes)" if args.direct else "remove-bg request + download of the PNG (upload excluded)")
        + ("; rembg: `session.predict` (its resize, normalise, pass, resize back), run in the same loop."
           if rembg else ".")
    )
    table = table_render(rows=rows, note=note)
    print(table)
    if args.write:
        benchmarks_write(path=args.write, body="## remove-bg quality (ECSSD-dev)\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
