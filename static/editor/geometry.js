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

// ---- Zoom and pan --------------------------------------------------------------------------
// A view of the image fitted in a box of width x height CSS pixels, magnified `zoom` times (1: it fits)
// and moved so that its top-left corner is at (x, y) in the box. The box is the zoom's viewport:
// the image always covers it, so x lies in [width - width * zoom, 0] (and y likewise).

export const VIEW_FIT = Object.freeze({ zoom: 1, x: 0, y: 0 });

/** The most a view may magnify: until one image pixel spans 8 CSS pixels, and at least 4 times. */
export function zoomLimit({ displayWidth, imageWidth }) {
  return Math.max(4, (8 * imageWidth) / displayWidth);
}

/** `view` with its zoom within [1, maxZoom] and its offsets keeping the image over the whole box. */
export function viewClamp({ zoom, x, y }, { width, height, maxZoom }) {
  const z = clamp(zoom, 1, maxZoom);
  return { zoom: z, x: clamp(x, width - width * z, 0), y: clamp(y, height - height * z, 0) };
}

/** Zoom by `factor` about the box point (atX, atY), which stays over the same image point. */
export function viewZoomAt(view, { factor, atX, atY, width, height, maxZoom }) {
  const zoom = clamp(view.zoom * factor, 1, maxZoom);
  const scale = zoom / view.zoom;
  return viewClamp({ zoom, x: atX - (atX - view.x) * scale, y: atY - (atY - view.y) * scale }, { width, height, maxZoom });
}

/** Move the view by (dx, dy) CSS pixels, as a drag does. */
export function viewPan(view, { dx, dy, width, height, maxZoom }) {
  return viewClamp({ zoom: view.zoom, x: view.x + dx, y: view.y + dy }, { width, height, maxZoom });
}

/**
 * Two fingers moved from (a0, b0) to (a1, b1), points in the box: the view that keeps the image point under
 * their midpoint under the new midpoint, magnified by how much their distance changed.
 */
export function viewPinch(view, { a0, b0, a1, b1, width, height, maxZoom }) {
  const distance = (p, q) => Math.hypot(p.x - q.x, p.y - q.y);
  const before = { x: (a0.x + b0.x) / 2, y: (a0.y + b0.y) / 2 };
  const after = { x: (a1.x + b1.x) / 2, y: (a1.y + b1.y) / 2 };
  const factor = distance(a0, b0) > 0 ? distance(a1, b1) / distance(a0, b0) : 1;
  const zoomed = viewZoomAt(view, { factor, atX: before.x, atY: before.y, width, height, maxZoom });
  return viewPan(zoomed, { dx: after.x - before.x, dy: after.y - before.y, width, height, maxZoom });
}

/**
 * The image pixel under a point of the box (CSS pixels from its top-left) in `view`; null when the
 * point is outside the box, so a drag that ends off the image adds no point.
 */
export function viewToImage({ x, y }, view, { width, height, imageWidth, imageHeight }) {
  if (x < 0 || y < 0 || x > width || y > height) return null;
  const fitted = { x: (x - view.x) / view.zoom, y: (y - view.y) / view.zoom };
  return displayToImage(fitted, { displayWidth: width, displayHeight: height, imageWidth, imageHeight });
}

/** The box point (CSS pixels) over the centre of an image pixel in `view`: where its marker goes. */
export function imageToView(pixel, view, { width, height, imageWidth, imageHeight }) {
  const fitted = imageToDisplay(pixel, { displayWidth: width, displayHeight: height, imageWidth, imageHeight });
  return { x: view.x + fitted.x * view.zoom, y: view.y + fitted.y * view.zoom };
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
