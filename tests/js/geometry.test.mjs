// Display <-> image pixel mapping. Run: node --experimental-detect-module --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesFormat, displayToImage, fitPixels, imageToDisplay, imageToPercent, orientedSize } from "../../static/editor/geometry.js";

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
