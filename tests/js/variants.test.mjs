// Variants: presets, background colour with alpha, and the v3 request shape.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ORIGINAL, PRESETS, backgroundOutput, outputNames, pixelsFor, presetVariants, variantBackground, variantCreate, variantNormalise, variantOutput } from "../../static/editor/variants.js";
import { variantWire } from "../../static/editor/api.js";

const variantRequest = (v, options) => variantWire(variantOutput(v, options));

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

test("outputs are named after the source, uniquely, as valid v3 path segments", () => {
  const names = outputNames(presetVariants(PRESETS[0].id), "photo");
  assert.deepEqual(names, ["photo-cutout.png", "photo-thumb.webp", "photo-white.jpg"]);
  const twice = outputNames([variantCreate(), variantCreate()], "a");
  assert.deepEqual(twice, ["a-cutout.png", "a-cutout-2.png"]);
  const blurred = outputNames(presetVariants(PRESETS[0].id), "photo", { background: { kind: "blur", blur: 20 } });
  assert.deepEqual(blurred, ["photo-blur.png", "photo-thumb-blur.webp", "photo-blur.jpg"]);
  const black = outputNames([variantCreate()], "p", { background: { kind: "color", color: "#000000", alpha: 100 } });
  assert.deepEqual(black, ["p-on-000000.png"]);
  assert.ok(names.every((name) => /^[A-Za-z0-9._-]+$/.test(name)));
});

test("the default size is the photo's own, asked for explicitly and capped at 25 MP", () => {
  const full = variantCreate();
  assert.equal(full.maxResolution, ORIGINAL);
  assert.equal(variantRequest(full, { outputPath: "o", sourcePixels: 6000 * 4000 }).max_resolution, 24_000_000);
  assert.equal(pixelsFor(full, { sourcePixels: 8000 * 6000 }), 25_000_000);
  assert.equal(pixelsFor(full, { sourcePixels: 50 * 50 }), 4096, "the API's minimum (it never upscales)");
  assert.equal(pixelsFor(variantCreate({ maxResolution: 250_000 }), { sourcePixels: 24_000_000 }), 250_000);
});

test("a picked background replaces every output's fill; JPEG gets white for transparent", () => {
  const png = variantCreate();
  const jpeg = variantCreate({ format: "jpeg" });
  assert.equal(variantRequest(png, { outputPath: "o", background: { kind: "blur", blur: 30 } }).background_blur, 30);
  assert.equal(variantRequest(png, { outputPath: "o", background: { kind: "image", imagePath: "p/b.png" } }).background_image_path, "p/b.png");
  assert.equal(variantRequest(png, { outputPath: "o", background: { kind: "color", color: "#FF0000", alpha: 50 } }).background_color, "#ff000080");
  assert.equal(variantRequest(jpeg, { outputPath: "o", background: { kind: "transparent" } }).background_color, "#ffffff");
  assert.equal(backgroundOutput({ kind: "color", color: "#000000", alpha: 40 }, { transparent: false }).backgroundColor, "#000000");
  assert.ok(!("background_blur" in variantRequest(png, { outputPath: "o" })), "extensions only when used");
});

test("it keeps compression within 1-100", () => {
  assert.equal(variantCreate({ compression: 400 }).compression, 100);
  assert.equal(variantCreate({ compression: 0 }).compression, 1);
});
