"""AI Cut's edges: the soft alpha after the robot's last click, scored along the ground truth's boundary.

    .venv/bin/python bench/aicut_edges.py --limit 10 --memo var/bench-memo     # while developing
    .venv/bin/python bench/aicut_edges.py --dataset ../shared/datasets/GrabCut --dataset ../shared/datasets/ECSSD-dev \
        --memo var/bench-memo --write docs/BENCHMARKS.md

For each object the robot user (vision/aicut_robot.py) clicks the default SAM pipeline until IoU >= 0.90 or
--max-clicks; the last click's alpha is then scored at full resolution (vision/edge_metrics.py): MAE within
3 and 10 px of the truth's boundary, BF at 2 px, SAD, gradient error, and how wide the soft transition is.
Every row scores the same clicks:

- `default`: the guided filter on the full-size image (vision/sam.py alpha_from_logits);
- `refine_radius=0`: the same logits without it (SAM's 256-px logits upsampled);
- `refine_radius=2`: the guided filter with half the default window;
- `salient, SAM's decision`: remove-bg's `quality: high` alpha (vision/salient.py) within --salient-band px of
  SAM's boundary, clamped to SAM's side of 0.5 there as the guided filter is, SAM's 0/1 beyond: a drop-in for
  the guided filter, so NoC cannot change;
- `salient near SAM's boundary`: the same without the clamp (the salient model may move the boundary);
- `salient alone`: remove-bg's alpha over the whole image, for reference.

The guided filter never flips SAM's decision, so the first three rows have the same binary mask: the same
IoU, BF and robot clicks; only the soft values differ.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.aicut_noc import MemoStore, benchmarks_write, dataset_items, sam_model_open, store_open, truth_load  # noqa: E402
from vision.aicut import image_key_of  # noqa: E402
from vision.aicut_robot import mask_iou, robot_run  # noqa: E402
from vision.edge_metrics import band_mae, boundary_f, gradient_error, sad, soft_width  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
MARK_START, MARK_END = "<!-- aicut-edges:start -->", "<!-- aicut-edges:end -->"
ROWS = ("default", "refine_radius=0", "refine_radius=2", "salient, SAM's decision", "salient near SAM's boundary", "salient alone")


def decision_distance(decision: np.ndarray) -> np.ndarray:
    """Distance of each pixel to the other side of a binary decision (1 next to its boundary)."""
    inside = cv2.distanceTransform(decision.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform((~decision).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(decision, inside, outside)


def to_8bit(alpha: np.ndarray) -> np.ndarray:
    """As an exported PNG stores it."""
    return np.round(np.clip(alpha, 0.0, 1.0) * 255.0) / 255.0


def alphas_for(*, image: np.ndarray, logits: np.ndarray, alpha_default: np.ndarray, salient: np.ndarray | None,
               tuning, band: float) -> dict[str, np.ndarray]:
    """Every row's alpha (0..1) from the last click's logits and SAM's alpha."""
    from vision.sam import alpha_from_logits

    decision = alpha_default > 127  # SAM's decision at full size (the guided filter keeps it)
    alphas = {"default": alpha_default / 255.0}
    for radius in (0, 2):
        variant = dataclasses.replace(tuning, refine_radius=radius)
        alphas[f"refine_radius={radius}"] = alpha_from_logits(image=image, logits=logits, tuning=variant) / 255.0
    if salient is None:
        return alphas
    near = decision_distance(decision) <= band
    hard = decision.astype(np.float64)
    kept = np.where(decision, np.maximum(salient, 128 / 255), np.minimum(salient, 127 / 255))
    alphas["salient, SAM's decision"] = to_8bit(np.where(near, kept, hard))
    alphas["salient near SAM's boundary"] = to_8bit(np.where(near, salient, hard))
    alphas["salient alone"] = to_8bit(salient)
    return alphas


def scores_of(*, alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    mask = alpha > 0.5
    return {
        "mae3": band_mae(alpha=alpha, truth=truth, k=3),
        "mae10": band_mae(alpha=alpha, truth=truth, k=10),
        "bf2": boundary_f(mask=mask, truth=truth, tolerance=2),
        "sad": sad(alpha=alpha, truth=truth),
        "grad": gradient_error(alpha=alpha, truth=truth, k=10),
        "soft": soft_width(alpha=alpha, truth=truth),
        "iou": mask_iou(mask=mask, truth=truth),
    }


def dataset_run(*, folder: Path, limit: int | None, model, salient_store, tuning, max_clicks: int,
                band: float) -> tuple[list[dict[str, dict[str, float]]], list[int], list[float]]:
    """Per object: each row's scores; the robot's clicks; the final IoU."""
    from vision.salient import alpha_predict
    from vision.sam import SamSegmenter

    per_object, clicks, final_ious = [], [], []
    for stem, image_path, mask_path in dataset_items(folder, limit):
        truth = truth_load(mask_path, inverted=False)
        image = np.asarray(Image.open(image_path).convert("RGB"))
        key = image_key_of(image)
        segmenter = SamSegmenter(model=model, tuning=tuning)  # a fresh click history per object
        last: dict[str, np.ndarray] = {}
        logits_of = segmenter.logits

        def logits_kept(**kwargs):
            logits, score = logits_of(**kwargs)
            last["logits"] = logits
            return logits, score

        segmenter.logits = logits_kept

        def segment(points):
            last["alpha"] = segmenter.segment(image=image, image_key=key, points=points).alpha
            return np.where(last["alpha"] > 127, 255, 0).astype(np.uint8)

        run = robot_run(truth=truth, segment=segment, max_clicks=max_clicks)
        salient = (alpha_predict(image=image, quality="high", store=salient_store)
                   if salient_store is not None else None)
        alphas = alphas_for(image=image, logits=last["logits"], alpha_default=last["alpha"], salient=salient,
                            tuning=tuning, band=band)
        scores = {row: scores_of(alpha=alpha, truth=truth) for row, alpha in alphas.items()}
        per_object.append(scores)
        clicks.append(len(run.ious))
        final_ious.append(run.ious[-1])
        print(f"  {folder.name} {stem:20s} clicks={len(run.ious):2d} iou={run.ious[-1]:.3f} "
              + " ".join(f"{row[:12]}:{s['mae3']:.3f}/{s['bf2']:.3f}" for row, s in scores.items()), flush=True)
    return per_object, clicks, final_ious


def table_render(*, name: str, per_object, clicks, final_ious, max_clicks: int) -> str:
    reached = sum(1 for v in final_ious if v >= 0.90)
    lines = [
        f"###### {name}: {len(per_object)} objects, {np.mean(clicks):.2f} robot clicks on average "
        f"(cap {max_clicks}), {reached} reached IoU 0.90",
        "",
        "| alpha | MAE ±3 px | MAE ±10 px | BF (2 px) | SAD / 1000 | Grad / 1000 (±10 px) | IoU (alpha > 0.5) "
        "| soft px per boundary px | ±3 px MAE below default's (objects) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        if row not in per_object[0]:
            continue
        values = {metric: float(np.nanmean([o[row][metric] for o in per_object])) for metric in per_object[0][row]}
        better = sum(1 for o in per_object if o[row]["mae3"] < o["default"]["mae3"])
        label = f"**{row}**" if row == "default" else row
        lines.append(
            f"| {label} | {values['mae3']:.4f} | {values['mae10']:.4f} | {values['bf2']:.4f} | {values['sad']:.3f} "
            f"| {values['grad']:.3f} | {values['iou']:.4f} | {values['soft']:.1f} | {'' if row == 'default' else better} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, action="append", help="repeat for several (default: GrabCut)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memo", type=Path, default=None,
                        help="memoise SAM embeddings and the salient models' maps on disk")
    parser.add_argument("--salient-band", type=float, default=8.0,
                        help="px either side of SAM's boundary where the salient rows use the salient alpha")
    parser.add_argument("--no-salient", action="store_true", help="skip the remove-bg rows (one ISNet pass an image)")
    parser.add_argument("--write", type=Path, default=None,
                        help=f"replace the part of this file between {MARK_START} and {MARK_END}")
    args = parser.parse_args(argv)

    from vision.sam import SamTuning

    tuning = SamTuning()
    model = sam_model_open(name="mobilesam", models_dir=args.models_dir, threads=args.threads, memo=args.memo)
    salient_store = None
    if not args.no_salient:
        salient_store = store_open(models_dir=args.models_dir, threads=args.threads)
        if args.memo:
            salient_store = MemoStore(salient_store, args.memo)
    tables = []
    for folder in args.dataset or [DATASETS / "GrabCut"]:
        started = time.perf_counter()
        per_object, clicks, final_ious = dataset_run(folder=folder, limit=args.limit, model=model,
                                                     salient_store=salient_store, tuning=tuning,
                                                     max_clicks=args.max_clicks, band=args.salient_band)
        print(f"{folder.name}: {time.perf_counter() - started:.0f} s", flush=True)
        tables.append(table_render(name=folder.name, per_object=per_object, clicks=clicks, final_ious=final_ious,
                                   max_clicks=args.max_clicks))
    body = "\n\n".join(tables)
    print(body)
    if args.write:
        if MARK_START not in args.write.read_text():
            parser.error(f"{args.write} has no {MARK_START} ... {MARK_END} block (it belongs inside the aicut section)")
        benchmarks_write(args.write, body, start=MARK_START, end=MARK_END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
