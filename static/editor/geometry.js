// Display <-> image pixel mapping, and other pure arithmetic the editor needs.
// No DOM here: every function takes plain numbers so node's test runner can check it.

/** Map a point on the displayed image (CSS pixels from its top-left) to integer image pixels. */
export function displayToImage({ x, y }, { displayWidth, displayHeight, imageWidth, imageHeight }) {
  if (!(displayWidth > 0 && displayHeight > 0)) throw new RangeError("display size must be positive");
  // floor, not round: pixel i covers [i, i+1) and the last column must stay inside the image.
  const ix = Math.floor((x / displayWidth) * imageWidth);
  const iy = Math.floor((y / displayHeight) * imageHeight);
  return { x: clamp(ix, 0, imageWidth - 1), y: clamp(iy, 0, imageHeight - 1) };
}

/** Map an image pixel to the centre of its footprint on the display, in CSS pixels. */
export function imageToDisplay({ x, y }, { displayWidth, displayHeight, imageWidth, imageHeight }) {
  return {
    x: ((x + 0.5) / imageWidth) * displayWidth,
    y: ((y + 0.5) / imageHeight) * displayHeight,
  };
}

/** Where an image pixel sits as a percentage of the image box, so markers scale with it. */
export function imageToPercent({ x, y }, { imageWidth, imageHeight }) {
  return { left: ((x + 0.5) / imageWidth) * 100, top: ((y + 0.5) / imageHeight) * 100 };
}

/** The size an image of width x height gets under a pixel budget, as the engine scales it. */
export function fitPixels({ width, height, maxPixels }) {
  const pixels = width * height;
  if (!maxPixels || pixels <= maxPixels) return { width, height };
  const scale = Math.sqrt(maxPixels / pixels);
  return {
    width: Math.max(1, Math.floor(width * scale)),
    height: Math.max(1, Math.floor(height * scale)),
  };
}

/** Width and height after an EXIF orientation (5-8 swap the axes). */
export function orientedSize({ width, height, orientation }) {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/** Bytes as people read them: 912 B, 14.2 KB, 3.1 MB. */
export function bytesFormat(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit += 1;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** Megapixels as the variant editor shows them: 0.25 MP, 12 MP. */
export function megapixelsFormat(pixels) {
  const mp = pixels / 1e6;
  return `${mp >= 10 ? mp.toFixed(0) : Number(mp.toFixed(2))} MP`;
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}
