"""The seam for an operator-supplied SAM-style encoder/decoder ONNX pair.

The I/O contract (SAM's own ONNX export fits it; other point-prompted models can be wrapped to fit):
- encoder: one input, float32 [1, 3, S, S]: the RGB image scaled so its long side is S, padded at the
  right/bottom with zeros to S x S, as (rgb / 255 - mean) / std; first output: the image embedding, any
  shape. It runs once per image; the embedding is cached under (image_key, encoder file).
- decoder: inputs by name: the embedding (the input whose name contains "embed"), `point_coords`
  float32 [1, N, 2] (x, y in the encoder's S x S frame), `point_labels` float32 [1, N] (1 = include,
  0 = exclude). Optional, filled the SAM way when the graph has them: `mask_input` zeros
  [1, 1, S/4, S/4], `has_mask_input` [0], `orig_im_size` [H, W] (then a padding point with label -1 is
  appended, as SAM's export expects). First output: mask logits [1, K, h, w] (> 0 = selected; the first
  of K is used) either at the image's own size or over the padded S x S frame at any resolution.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vision.aicut_types import Point
from vision.models import session_run


class SamPair:
    """An encoder run once per image (cached) and a decoder run per click."""

    def __init__(
        self,
        *,
        encoder_path: Path | str,
        decoder_path: Path | str,
        input_size: int = 1024,
        mean: tuple[float, float, float] = (0.485, 0.456, 0.406),
        std: tuple[float, float, float] = (0.229, 0.224, 0.225),
        threads: int = 2,
    ):
        import onnxruntime as ort

        for path in (encoder_path, decoder_path):
            if not Path(path).is_file():
                raise FileNotFoundError(f"AI Cut SAM model {path} does not exist; fix the AI Cut SAM settings.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(encoder_path), sess_options=options, providers=providers)
        self.decoder = ort.InferenceSession(str(decoder_path), sess_options=options, providers=providers)
        self.encoder_key = str(Path(encoder_path).resolve())
        self.input_size = input_size
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.encoder_passes = 0
        self.decoder_passes = 0

    def embedding(self, *, image: np.ndarray) -> np.ndarray:
        """The encoder's output for an RGB uint8 image (one encoder pass)."""
        size = self.input_size
        scale = size / max(image.shape[:2])
        height, width = sam_scaled_shape(shape=image.shape[:2], size=size)
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        batch = np.zeros((1, 3, size, size), np.float32)
        batch[0, :, :height, :width] = ((resized.astype(np.float32) / 255 - self.mean) / self.std).transpose(2, 0, 1)
        self.encoder_passes += 1
        name = self.encoder.get_inputs()[0].name
        return session_run(self.encoder, None, {name: batch})[0]

    def logits(self, *, image: np.ndarray, image_key: str, points: Sequence[Point], cache) -> np.ndarray:
        """Mask logits (float32 HxW, > 0 = selected) for all clicks; the embedding comes from `cache` when it can."""
        height, width = image.shape[:2]
        embedding = cache.get_or_compute(("sam-embedding", image_key, self.encoder_key), lambda: self.embedding(image=image))
        coords, labels = sam_prompt(points=points, shape=(height, width), size=self.input_size)
        feeds = {}
        for spec in self.decoder.get_inputs():
            name = spec.name
            if "embed" in name:
                feeds[name] = embedding
            elif name == "point_coords":
                feeds[name] = coords
            elif name == "point_labels":
                feeds[name] = labels
            elif name == "mask_input":
                feeds[name] = np.zeros((1, 1, self.input_size // 4, self.input_size // 4), np.float32)
            elif name == "has_mask_input":
                feeds[name] = np.zeros((1,), np.float32)
            elif name == "orig_im_size":
                feeds[name] = np.asarray([height, width], np.float32)
            else:
                raise ValueError(f"The AI Cut SAM decoder has an input {name!r} this seam does not know.")
        if "orig_im_size" in feeds:
            feeds["point_coords"] = np.concatenate([coords, np.zeros((1, 1, 2), np.float32)], axis=1)
            feeds["point_labels"] = np.concatenate([labels, -np.ones((1, 1), np.float32)], axis=1)
        self.decoder_passes += 1
        masks = np.asarray(session_run(self.decoder, None, feeds)[0], np.float32)
        return sam_mask_fit(mask=masks.reshape(-1, *masks.shape[-2:])[0], shape=(height, width), size=self.input_size)


def sam_scaled_shape(*, shape: tuple[int, int], size: int) -> tuple[int, int]:
    """(height, width) of the image inside the encoder's S x S frame (long side = S)."""
    scale = size / max(shape)
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def sam_prompt(*, points: Sequence[Point], shape: tuple[int, int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Click coordinates in the encoder's frame ([1, N, 2] float32) and labels ([1, N] float32, 1 = include)."""
    scale = size / max(shape)
    coords = np.asarray([[(p.x + 0.5) * scale, (p.y + 0.5) * scale] for p in points], np.float32).reshape(1, -1, 2)
    labels = np.asarray([1.0 if p.positive else 0.0 for p in points], np.float32).reshape(1, -1)
    return coords, labels


def sam_mask_fit(*, mask: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """Decoder logits mapped onto the image: used as-is at the image's size, else cropped from the padded frame."""
    height, width = shape
    if mask.shape == (height, width):
        return mask.astype(np.float32)
    inner_h, inner_w = sam_scaled_shape(shape=shape, size=size)
    # The decoder's grid covers the padded S x S frame; keep the part the image occupies.
    crop_h = max(1, round(mask.shape[0] * inner_h / size))
    crop_w = max(1, round(mask.shape[1] * inner_w / size))
    return cv2.resize(mask[:crop_h, :crop_w].astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
