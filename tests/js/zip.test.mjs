// The client-side ZIP of "Download all": a valid archive any unzip reads, files stored byte for byte.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { crc32, zipStore } from "../../static/editor/zip.js";

test("crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("python's zipfile reads back every file intact", () => {
  const a = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  const b = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
  const dir = mkdtempSync(join(tmpdir(), "zip-"));
  const path = join(dir, "all.zip");
  writeFileSync(path, zipStore([{ name: "photo-cutout.png", bytes: a }, { name: "photo-thumb.webp", bytes: b }]));
  const script = "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n" +
    "print(*[f'{i.filename}:{i.file_size}:{hashlib.sha256(z.read(i)).hexdigest()[:12]}' for i in z.infolist()])";
  const out = execFileSync("python3", ["-c", script, path]).toString().trim().split(" ");
  assert.deepEqual(out.map((line) => line.split(":").slice(0, 2).join(":")), ["photo-cutout.png:7", "photo-thumb.webp:70000"]);
  assert.equal(readFileSync(path).subarray(0, 4).toString("hex"), "504b0304");
});
