// Display <-> image pixel mapping. Run: node --experimental-detect-module --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  VIEW_FIT, bytesFormat, displayToImage, fitPixels, imageToDisplay, imageToPercent, imageToView, orientedSize, viewPan, viewPinch,
  viewToImage, viewZoomAt, zoomLimit,
} from "../../static/editor/geometry.js";

const box = { displayWidth: 400, displayHeight: 300, imageWidth: 4000, imageHeight: 3000 };

test("it maps a display point to image pixels at a tenth of the scale", () => {
  assert.deepEqual(displayToImage({ x: 200, y: 150 }, box), { x: 2000, y: 1500 });
  assert.deepEqual(displayToImage({ x: 10.05, y: 0.09 }, box), { x: 100, y: 0 });
});

test("it maps the same image pixel whatever the display scale", () => {
  for (const scale of [0.1, 0.37, 1, 2.5]) {
    const sized = { ...box, displayWidth: 4000 * scale, displayHeight: 3000 * scale };
    assert.deepEqual(displayToImage({ x: 1234.5 * scale, y: 987.5 * scale }, sized), { x: 1234, y: 987 });
  }
});

test("it keeps a click on the far edge inside the image", () => {
  assert.deepEqual(displayToImage({ x: 400, y: 300 }, box), { x: 3999, y: 2999 });
  assert.deepEqual(displayToImage({ x: -3, y: -1 }, box), { x: 0, y: 0 });
});

test("it round-trips an image pixel through the display", () => {
  const small = { displayWidth: 333, displayHeight: 250, imageWidth: 1000, imageHeight: 751 };
  for (const pixel of [{ x: 0, y: 0 }, { x: 999, y: 750 }, { x: 512, y: 17 }]) {
    assert.deepEqual(displayToImage(imageToDisplay(pixel, small), small), pixel);
  }
});

test("it refuses an empty display box", () => {
  assert.throws(() => displayToImage({ x: 1, y: 1 }, { ...box, displayWidth: 0 }), RangeError);
});

test("it places a marker at the centre of its pixel in percent", () => {
  assert.deepEqual(imageToPercent({ x: 0, y: 1 }, { imageWidth: 2, imageHeight: 4 }), { left: 25, top: 37.5 });
});

test("it scales a size under a pixel budget keeping the aspect ratio", () => {
  assert.deepEqual(fitPixels({ width: 4000, height: 3000, maxPixels: 250_000 }), { width: 577, height: 433 });
  assert.deepEqual(fitPixels({ width: 400, height: 300, maxPixels: 250_000 }), { width: 400, height: 300 });
});

test("it swaps the axes for the EXIF orientations that turn the image", () => {
  assert.deepEqual(orientedSize({ width: 4, height: 3, orientation: 6 }), { width: 3, height: 4 });
  assert.deepEqual(orientedSize({ width: 4, height: 3, orientation: 3 }), { width: 4, height: 3 });
});

test("it formats byte sizes for people", () => {
  assert.equal(bytesFormat(912), "912 B");
  assert.equal(bytesFormat(14_230), "14.2 KB");
  assert.equal(bytesFormat(3_100_000), "3.1 MB");
  assert.equal(bytesFormat(250_000), "250 KB");
});

// ---- Zoom and pan ----
const stageBox = { width: 400, height: 300, imageWidth: 4000, imageHeight: 3000, maxZoom: 80 };

test("fitted, a box point maps to the pixel displayToImage gives", () => {
  assert.deepEqual(viewToImage({ x: 200, y: 150 }, VIEW_FIT, stageBox), { x: 2000, y: 1500 });
  assert.equal(viewToImage({ x: 401, y: 10 }, VIEW_FIT, stageBox), null, "outside the box: no pixel");
});

test("zooming about a point keeps the image pixel under it, at any zoom", () => {
  let view = VIEW_FIT;
  const at = { x: 123.4, y: 210.6 };
  const under = viewToImage(at, view, stageBox);
  for (const factor of [1.5, 2, 3.7, 0.5, 10]) {
    view = viewZoomAt(view, { factor, atX: at.x, atY: at.y, ...stageBox });
    assert.deepEqual(viewToImage(at, view, stageBox), under, `zoom ${view.zoom}`);
  }
  assert.ok(view.zoom > 20);
});

test("at 4x, a click maps to the image pixel it covers, and markers land back on their pixels", () => {
  const view = viewZoomAt(VIEW_FIT, { factor: 4, atX: 0, atY: 0, ...stageBox });
  assert.deepEqual(view, { zoom: 4, x: 0, y: 0 });
  // One box pixel now spans 2.5 image pixels (10 when fitted): the box's (100, 75) is the image's (250, 187.5).
  assert.deepEqual(viewToImage({ x: 100, y: 75 }, view, stageBox), { x: 250, y: 187 });
  const panned = viewPan(view, { dx: -200, dy: -150, ...stageBox });
  assert.deepEqual(viewToImage({ x: 100, y: 75 }, panned, stageBox), { x: 750, y: 562 });
  for (const pixel of [{ x: 750, y: 562 }, { x: 1000, y: 749 }, { x: 1234, y: 1001 }]) {
    assert.deepEqual(viewToImage(imageToView(pixel, panned, stageBox), panned, stageBox), pixel);
  }
});

test("the view never shows past the image's edges nor zooms beyond its limits", () => {
  const zoomed = viewZoomAt(VIEW_FIT, { factor: 2, atX: 200, atY: 150, ...stageBox });
  assert.deepEqual(zoomed, { zoom: 2, x: -200, y: -150 });
  assert.deepEqual(viewPan(zoomed, { dx: 1000, dy: 1000, ...stageBox }), { zoom: 2, x: 0, y: 0 });
  assert.deepEqual(viewPan(zoomed, { dx: -1000, dy: -1000, ...stageBox }), { zoom: 2, x: -400, y: -300 });
  assert.deepEqual(viewPan(VIEW_FIT, { dx: 50, dy: -50, ...stageBox }), { zoom: 1, x: 0, y: 0 }, "fitted: nothing to pan");
  assert.deepEqual(viewZoomAt(zoomed, { factor: 0.1, atX: 10, atY: 10, ...stageBox }), VIEW_FIT);
  assert.equal(viewZoomAt(VIEW_FIT, { factor: 1e6, atX: 0, atY: 0, ...stageBox }).zoom, stageBox.maxZoom);
  assert.equal(zoomLimit({ displayWidth: 400, imageWidth: 4000 }), 80, "until an image pixel spans 8 CSS px");
  assert.equal(zoomLimit({ displayWidth: 400, imageWidth: 100 }), 4, "a small image still zooms 4x");
});

test("a pinch zooms by the fingers' spread about their midpoint and pans with it", () => {
  const a0 = { x: 150, y: 150 };
  const b0 = { x: 250, y: 150 };
  const under = viewToImage({ x: 200, y: 150 }, VIEW_FIT, stageBox);
  const spread = viewPinch(VIEW_FIT, { a0, b0, a1: { x: 100, y: 150 }, b1: { x: 300, y: 150 }, ...stageBox });
  assert.equal(spread.zoom, 2);
  assert.deepEqual(viewToImage({ x: 200, y: 150 }, spread, stageBox), under);
  const moved = viewPinch(spread, { a0: { x: 100, y: 150 }, b0: { x: 300, y: 150 }, a1: { x: 80, y: 130 }, b1: { x: 280, y: 130 }, ...stageBox });
  assert.equal(moved.zoom, 2);
  assert.deepEqual(viewToImage({ x: 180, y: 130 }, moved, stageBox), under, "two fingers moving together pan");
});
