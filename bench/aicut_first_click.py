"""Which of SAM's masks a first click means: each rule's first-click IoU on the robot's first click.

    .venv/bin/python bench/aicut_first_click.py --model mobilesam ../shared/datasets/COCO-dev ../shared/datasets/GrabCut

For every image the robot's first click (the deepest object pixel) goes to the decoder once; every
rule then picks one of the returned masks and is scored by that mask's IoU against the truth.
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
from vision.aicut_robot import click_next, mask_iou  # noqa: E402
from vision.sam import FRAME, SamSegmenter, frame_shape, mask_choose, sam_prompt  # noqa: E402
from vision.sam_zoom import whole_view  # noqa: E402

RULES = [("single", 0.0), ("score", 0.0), ("stability", 0.0)] + [
    ("largest-confident", margin) for margin in (0.02, 0.05, 0.1, 0.2, 1.0)
] + [("score-area", weight) for weight in (0.02, 0.05, 0.1)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--model", default="mobilesam")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--memo", type=Path, default=None, help="folder to memoise embeddings in")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    segmenter = SamSegmenter(model=sam_model_open(name=args.model, models_dir=args.models_dir, memo=args.memo))
    for dataset in args.datasets:
        scores: dict[str, list[float]] = {}
        oracle: list[float] = []
        for stem, image_path, mask_path in dataset_items(dataset, args.limit):
            image = np.asarray(Image.open(image_path).convert("RGB"))
            truth = truth_load(mask_path, inverted=False)
            point = click_next(mask=None, truth=truth)
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
            print(f"  {stem:24s} ious={' '.join(f'{v:.2f}' for v in ious)} "
                  f"scores={' '.join(f'{v:.3f}' for v in predicted)} areas={' '.join(f'{v:.4f}' for v in areas)}",
                  flush=True)
        print(f"\n{dataset.name} ({len(oracle)} images): first-click IoU by rule")
        print("| rule | mean IoU | IoU < 0.5 | IoU >= 0.9 |\n|---|---|---|---|")
        for name, values in list(scores.items()) + [("oracle (best mask)", oracle)]:
            values = np.asarray(values)
            print(f"| {name} | {values.mean():.3f} | {int((values < 0.5).sum())} | {int((values >= 0.9).sum())} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
