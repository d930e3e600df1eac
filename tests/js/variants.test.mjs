// Variants: presets, background colour with alpha, and the v3 request shape.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PRESETS, presetVariants, variantBackground, variantCreate, variantFileName, variantNormalise, variantRequest } from "../../static/editor/variants.js";

test("it offers the full PNG + thumbnail WebP + white JPEG preset first", () => {
  const [png, webp, jpeg] = presetVariants(PRESETS[0].id).map((v) => variantRequest(v, { outputPath: "o" }));
  assert.equal(png.format, "png");
  assert.equal(png.background_color, null);
  assert.equal(webp.format, "webp");
  assert.equal(webp.max_resolution, 250_000);
  assert.equal(jpeg.format, "jpeg");
  assert.equal(jpeg.background_color, "#ffffff");
});

test("it writes a background colour with alpha as #rrggbbaa", () => {
  assert.equal(variantBackground(variantCreate({ transparent: false, color: "#FF0000", alpha: 50 })), "#ff000080");
  assert.equal(variantBackground(variantCreate({ transparent: false, color: "#00ff00", alpha: 100 })), "#00ff00");
  assert.equal(variantBackground(variantCreate({ transparent: true })), null);
});

test("it never leaves a JPEG transparent or translucent", () => {
  const jpeg = variantNormalise({ ...variantCreate(), format: "jpeg", transparent: true, alpha: 20 });
  assert.equal(jpeg.transparent, false);
  assert.equal(variantBackground(jpeg), "#ffffff");
});

test("it names each output uniquely and with the format's extension", () => {
  const variants = presetVariants(PRESETS[0].id);
  const names = variants.map(variantFileName);
  assert.equal(new Set(names).size, names.length);
  assert.match(names[2], /^3-jpeg-.*\.jpg$/);
  assert.ok(names.every((name) => /^[A-Za-z0-9._-]+$/.test(name)), "names are valid v3 path segments");
});

test("it keeps compression within 1-100", () => {
  assert.equal(variantCreate({ compression: 400 }).compression, 100);
  assert.equal(variantCreate({ compression: 0 }).compression, 1);
});
