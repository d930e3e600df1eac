"""Two nodes, one service: whatever one node stored, the other serves, changes and sweeps."""
from __future__ import annotations

import re
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.images import image_bytes
from tools.cluster import ROOT


def session(cluster) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {cluster.api_key}"
    return http


def upload(http, node, folder: str, name: str, data: bytes, **fields) -> str:
    response = http.post(f"{node.base}/v3/file-ops/upload/", files={"files": (name, data)},
                         data={"upload_path": folder, **fields}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["file_paths"][0]


def listed_blobs(cluster) -> dict[str, int]:
    """Every blob in the shared bucket, straight from S3."""
    pages = cluster.seaweedfs.client().get_paginator("list_objects_v2").paginate(
        Bucket=cluster.bucket, Prefix="blobs/")
    return {item["Key"].rsplit("/", 1)[-1]: item["Size"] for page in pages for item in page.get("Contents", [])}


def test_both_nodes_started_together_and_answer(cluster):
    http = session(cluster)
    for node in cluster.nodes:
        assert node.process.poll() is None, node.log.read_text()[-2000:]
        assert http.get(f"{node.base}/v3/file-ops/usage/", timeout=10).status_code == 200
        assert "Traceback" not in node.log.read_text()


def test_a_file_uploaded_on_one_node_is_served_copied_and_deleted_on_the_other(cluster):
    a, b = cluster.nodes
    http = session(cluster)
    folder = "x" + secrets.token_hex(4)
    data = image_bytes(size=(300, 200))
    path = upload(http, a, folder, "photo.jpg", data)
    download = http.get(f"{b.base}/v3/files/{path}", timeout=30)
    assert download.status_code == 200 and download.content == data
    info = http.get(f"{b.base}/v3/file-ops/info/", params={"file_path": path}, timeout=10).json()
    assert (info["size"], info["width"], info["height"]) == (len(data), 300, 200)
    copy = http.post(f"{b.base}/v3/file-ops/copy/", json={"source_path": path, "destination_path": f"{folder}/c/copy.jpg"},
                     timeout=30)
    assert copy.status_code == 200, copy.text
    assert http.get(f"{a.base}/v3/files/{folder}/c/copy.jpg", timeout=30).content == data
    assert http.post(f"{b.base}/v3/file-ops/delete/", json={"file_path": path}, timeout=10).json() == {"success": True}
    assert http.get(f"{a.base}/v3/files/{path}", timeout=10).status_code == 404
    upload(http, a, f"{folder}/d", "one.png", image_bytes("PNG"))
    gone = http.post(f"{b.base}/v3/file-ops/delete-folder/", json={"folder_path": folder}, timeout=30)
    assert gone.json() == {"deleted_count": 2}
    assert http.get(f"{a.base}/v3/file-ops/list/", params={"pattern": f"{folder}/*"}, timeout=10).json() == {
        "file_paths": []}


def test_a_public_url_made_on_one_node_works_on_the_other(cluster):
    a, b = cluster.nodes
    http = session(cluster)
    path = upload(http, a, "pub" + secrets.token_hex(4), "p.png", image_bytes("PNG"))
    url = http.post(f"{a.base}/v3/file-ops/get-public-url/", json={"file_path": path}, timeout=10).json()["url"]
    assert requests.get(url.replace(a.base, b.base), timeout=30).content == image_bytes("PNG")


_REPORT = re.compile(r"Swept: (\d+) expired files, (\d+) orphan blobs \(([\d,]+) bytes\)")


def test_the_sweeper_on_both_nodes_at_once_frees_everything_once_and_counts_it_once(cluster):
    a, _ = cluster.nodes
    http = session(cluster)
    folder = "s" + secrets.token_hex(4)
    for n in range(4):
        upload(http, a, folder, f"{n}.png", image_bytes("PNG", color=(n, n, n)))
    client = cluster.seaweedfs.client()
    orphans = {secrets.token_hex(16): 100 + n for n in range(3)}  # what a node killed mid-publish leaves
    for name, size in orphans.items():
        client.put_object(Bucket=cluster.bucket, Key=f"blobs/{name[:2]}/{name}", Body=b"o" * size)
    expired_before = len(listed_blobs(cluster)) - len(orphans)  # other tests' files expire in the sweep too
    later = "2099-01-01T00:00:00+00:00"  # every file has expired and every orphan is past the grace

    def sweep(node: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", "sweep_files", "--now", later], cwd=ROOT,
                              env=cluster.node_env(node), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(sweep, ["node-a", "node-b", "node-a", "node-b"]))
    reports = [_REPORT.search(out) for out in outputs]
    assert all(report or "Another sweeper is running" in out for report, out in zip(reports, outputs)), outputs
    done = [tuple(int(g.replace(",", "")) for g in report.groups()) for report in reports if report]
    assert sum(expired for expired, _, _ in done) == expired_before
    assert (sum(n for _, n, _ in done), sum(b for _, _, b in done)) == (len(orphans), sum(orphans.values()))
    assert listed_blobs(cluster) == {}, "no orphan bytes left in the store"
