// The EXIF orientation reader, on hand-built JPEG headers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { jpegOrientation } from "../../static/editor/exif.js";

function jpegWithOrientation(value, { little = false } = {}) {
  const tiff = new DataView(new ArrayBuffer(8 + 2 + 12 + 4));
  tiff.setUint16(0, little ? 0x4949 : 0x4d4d);
  tiff.setUint16(2, 42, little);
  tiff.setUint32(4, 8, little);
  tiff.setUint16(8, 1, little);
  tiff.setUint16(10, 0x0112, little);
  tiff.setUint16(12, 3, little);
  tiff.setUint32(14, 1, little);
  tiff.setUint16(18, value, little);
  const exif = [0x45, 0x78, 0x69, 0x66, 0, 0, ...new Uint8Array(tiff.buffer)];
  const length = exif.length + 2;
  return new Uint8Array([0xff, 0xd8, 0xff, 0xe1, length >> 8, length & 0xff, ...exif, 0xff, 0xda, 0, 2]).buffer;
}

test("it reads the orientation in both byte orders", () => {
  assert.equal(jpegOrientation(jpegWithOrientation(6)), 6);
  assert.equal(jpegOrientation(jpegWithOrientation(8, { little: true })), 8);
});

test("it answers 1 without EXIF, for other formats and for nonsense values", () => {
  assert.equal(jpegOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2]).buffer), 1);
  assert.equal(jpegOrientation(new Uint8Array([0x89, 0x50, 0x4e, 0x47]).buffer), 1);
  assert.equal(jpegOrientation(jpegWithOrientation(42)), 1);
  assert.equal(jpegOrientation(new ArrayBuffer(0)), 1);
});
