"""Which of SAM's masks a first click means: each rule's first-click IoU on the robot's first click.

    .venv/bin/python bench/aicut_first_click.py --model mobilesam ../shared/datasets/COCO-dev ../shared/datasets/GrabCut
    .venv/bin/python bench/aicut_first_click.py --random-clicks 3 ../shared/datasets/GrabCut   # as people click

For every image the robot's first click (the deepest object pixel) goes to the decoder once; every
rule then picks one of the returned masks and is scored by that mask's IoU against the truth.
The robot's click is special: the true mask is at its deepest there, so a rule that rewards "the click lies
deep inside this mask" looks better at it than it is. `--random-clicks N` scores each rule at N seeded
random points of each object instead, among those at least `INTERIOR` of the deepest distance from its
edge (roughly where people click), and is the check to pass before a rule is believed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.aicut_noc import dataset_items, sam_model_open, truth_load  # noqa: E402
from vision.aicut import image_key_of  # noqa: E402
from vision.aicut_robot import IGNORE, click_next, mask_iou  # noqa: E402
from vision.aicut_types import Point  # noqa: E402
from vision.sam import FRAME, SamSegmenter, frame_shape, mask_choose, sam_prompt  # noqa: E402
from vision.sam_zoom import whole_view  # noqa: E402

RULES = [("single", 0.0), ("score", 0.0), ("stability", 0.0)] + [
    ("largest-confident", margin) for margin in (0.02, 0.05, 0.1, 0.2, 1.0)
] + [("score-area", weight) for weight in (0.02, 0.05, 0.1)]


INTERIOR = 0.3  # --random-clicks: a click's distance to the object's edge, at least this share of the largest


def interior_clicks(truth: np.ndarray, *, count: int, seed: int) -> list[Point]:
    """`count` seeded random object pixels at least INTERIOR of the deepest distance from the object's edge."""
    inside = (truth > IGNORE).astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    ys, xs = np.nonzero(depth >= INTERIOR * depth.max())
    picks = np.random.default_rng(seed).choice(len(xs), size=min(count, len(xs)), replace=False)
    return [Point(int(xs[i]), int(ys[i]), True) for i in picks]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--model", default="mobilesam")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--memo", type=Path, default=None, help="folder to memoise embeddings in")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--random-clicks", type=int, default=0,
                        help="score each rule at this many random interior clicks per object instead of the robot's")
    args = parser.parse_args(argv)
    segmenter = SamSegmenter(model=sam_model_open(name=args.model, models_dir=args.models_dir, memo=args.memo))
    for dataset in args.datasets:
        scores: dict[str, list[float]] = {}
        oracle: list[float] = []
        for index, (stem, image_path, mask_path) in enumerate(dataset_items(dataset, args.limit)):
            image = np.asarray(Image.open(image_path).convert("RGB"))
            truth = truth_load(mask_path, inverted=False)
            clicks = (interior_clicks(truth, count=args.random_clicks, seed=index) if args.random_clicks
                      else [click_next(mask=None, truth=truth)])
            for point in clicks:
                first_click_score(segmenter=segmenter, image=image, truth=truth, point=point, stem=stem,
                                  scores=scores, oracle=oracle)
        print(f"\n{dataset.name} ({len(oracle)} clicks): first-click IoU by rule")
        print("| rule | mean IoU | IoU < 0.5 | IoU >= 0.9 |\n|---|---|---|---|")
        for name, values in list(scores.items()) + [("oracle (best mask)", oracle)]:
            values = np.asarray(values)
            print(f"| {name} | {values.mean():.3f} | {int((values < 0.5).sum())} | {int((values >= 0.9).sum())} |")
    return 0


def first_click_score(*, segmenter, image, truth, point, stem, scores: dict, oracle: list) -> None:
    """One click through the decoder; every rule's pick scored into `scores`, the best mask into `oracle`."""
    embedding = segmenter._embedding(image, image_key_of(image), whole_view(image.shape[:2]))
    coords, labels = sam_prompt(points=[point], box=None, shape=image.shape[:2])
    height, width = image.shape[:2]
    work = (height, width) if max(height, width) <= FRAME else frame_shape(shape=(height, width), side=FRAME)
    masks, predicted, _ = segmenter.model.decode(embedding=embedding, coords=coords, labels=labels,
                                                 mask_input=None, size=work)
    truth_work = cv2.resize(truth, (work[1], work[0]), interpolation=cv2.INTER_NEAREST)
    ious = [mask_iou(mask=(m > 0).astype(np.uint8), truth=truth_work) for m in masks]
    oracle.append(max(ious))
    for rule, margin in RULES:
        index = mask_choose(masks=masks, scores=predicted, rule=rule, margin=margin)
        scores.setdefault(f"{rule} {margin:g}" if margin else rule, []).append(ious[index])
    areas = [float(np.mean(m > 0)) for m in masks]
    print(f"  {stem:24s} ({point.x:4d},{point.y:4d}) ious={' '.join(f'{v:.2f}' for v in ious)} "
          f"scores={' '.join(f'{v:.3f}' for v in predicted)} areas={' '.join(f'{v:.4f}' for v in areas)}",
          flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
