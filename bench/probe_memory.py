"""Peak memory of checking one upload (vision.image_io.image_probe), per format, each in a fresh process.

Small files that declare many pixels: a flat grey image of SIDE x SIDE saved as JPEG, PNG, WebP and AVIF.
Prints a markdown table of file size, probe time and the growth of the process's VmHWM.

    .venv/bin/python bench/probe_memory.py --side 7000
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("AVIF", "avif"))
CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from vision.image_io import image_probe
def peak():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
before = peak(); started = time.perf_counter()
image_probe({path!r}, max_pixels=10**9)
print(f"{{time.perf_counter() - started:.2f}} {{peak() - before:.0f}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=7000)
    args = parser.parse_args()
    from PIL import Image

    image = Image.new("RGB", (args.side, args.side), (128, 128, 128))
    print(f"| format | file | probe s | peak growth MB |  ({args.side}x{args.side} flat grey)")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for fmt, ext in FORMATS:
            path = Path(folder) / f"flat.{ext}"
            image.save(path, fmt)
            out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                                 capture_output=True, text=True, check=True).stdout.split()
            print(f"| {fmt} | {path.stat().st_size / 1000:.0f} KB | {out[0]} | {out[1]} |")


if __name__ == "__main__":
    main()
