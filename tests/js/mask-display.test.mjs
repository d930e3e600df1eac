// The selection's display styles and the hover preview's paint, pixel by pixel.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MASK_STYLES, maskEdges, maskPaint, maskSelected, previewPaint } from "../../static/editor/mask-display.js";

/** An RGBA mask width x height with a white (selected) square from (x0, y0) to (x1, y1), exclusive. */
function squareMask(width, height, [x0, y0, x1, y1]) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) rgba.set([255, 255, 255, 255], (y * width + x) * 4);
  }
  return rgba;
}

const pixel = (out, width, x, y) => [...out.slice((y * width + x) * 4, (y * width + x) * 4 + 4)];

test("the edge is the pixels on both sides of the boundary, and thickness widens it", () => {
  const selected = maskSelected(squareMask(8, 8, [2, 2, 6, 6]), 8, 8);
  const thin = maskEdges(selected, 8, 8, 1);
  assert.equal(thin[2 * 8 + 2], 1, "the square's corner");
  assert.equal(thin[3 * 8 + 1], 1, "just outside its left side");
  assert.equal(thin[4 * 8 + 4], 0, "its inside");
  assert.equal(thin[0], 0, "far outside");
  const thick = maskEdges(selected, 8, 8, 2);
  assert.equal(thick[4 * 8 + 4], 1, "two pixels in from the boundary");
  assert.equal(thick[0], 0);
});

test("tint washes what is selected, veils the rest, and outlines the boundary in black and white", () => {
  const [w, h] = [16, 16];
  const out = new Uint8ClampedArray(w * h * 4);
  maskPaint({ rgba: squareMask(w, h, [4, 4, 12, 12]), width: w, height: h, style: "tint", out });
  const inside = pixel(out, w, 8, 8);
  const outside = pixel(out, w, 0, 0);
  assert.ok(inside[2] > inside[0] && inside[3] > 0 && inside[3] < 255, "a translucent blue inside");
  assert.ok(outside[3] > 0 && outside[3] < 255 && outside[2] < 100, "a translucent dark veil outside");
  const edgeColours = new Set();
  for (let x = 4; x < 12; x += 1) edgeColours.add(pixel(out, w, x, 4).join());
  assert.deepEqual([...edgeColours].sort(), ["17,17,17,255", "255,255,255,255"], "dashes of both colours along the top");
});

test("outline draws only the boundary; cutout hides the rest behind an opaque checkerboard", () => {
  const [w, h] = [16, 16];
  const mask = squareMask(w, h, [4, 4, 12, 12]);
  const outline = maskPaint({ rgba: mask, width: w, height: h, style: "outline", out: new Uint8ClampedArray(w * h * 4) });
  assert.equal(pixel(outline, w, 8, 8)[3], 0);
  assert.equal(pixel(outline, w, 0, 0)[3], 0);
  assert.equal(pixel(outline, w, 4, 8)[3], 255);
  const cutout = maskPaint({ rgba: mask, width: w, height: h, style: "cutout", out: new Uint8ClampedArray(w * h * 4) });
  assert.equal(pixel(cutout, w, 8, 8)[3], 0, "the subject shows through");
  assert.equal(pixel(cutout, w, 0, 0)[3], 255);
  assert.notDeepEqual(pixel(cutout, w, 0, 0), pixel(cutout, w, 0, 15 - 7), "two checker colours");
  assert.throws(() => maskPaint({ rgba: mask, width: w, height: h, style: "glow", out: cutout }), RangeError);
  assert.deepEqual([...MASK_STYLES], ["tint", "outline", "cutout"]);
});

test("a preview looks unlike every selection style: amber, and nothing outside it", () => {
  const [w, h] = [16, 16];
  const mask = squareMask(w, h, [4, 4, 12, 12]);
  const out = previewPaint({ rgba: mask, width: w, height: h, out: new Uint8ClampedArray(w * h * 4) });
  assert.deepEqual(pixel(out, w, 4, 4), [251, 191, 36, 255], "a solid amber edge");
  const fill = pixel(out, w, 8, 8);
  assert.ok(fill[0] > 200 && fill[2] < 80 && fill[3] > 0 && fill[3] < 128, "a light amber wash");
  assert.equal(pixel(out, w, 0, 0)[3], 0);
  for (const style of MASK_STYLES) {
    const shown = maskPaint({ rgba: mask, width: w, height: h, style, out: new Uint8ClampedArray(w * h * 4) });
    assert.notDeepEqual(pixel(shown, w, 8, 8), fill, style);
  }
});
