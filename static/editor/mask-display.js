// How a selection mask is drawn over the photo. No DOM: masks and outputs are plain RGBA arrays, so node's
// test runner checks the pixels.
//
// A tint alone vanishes on a subject of the tint's colour, and an outline alone is lost in a busy photo:
// the default shows both, and the outline is dashed black and white so that one of the two shows on any
// subject. "cutout" hides what is not selected behind a checkerboard, as the exported PNG will look.

export const MASK_STYLES = Object.freeze(["tint", "outline", "cutout"]);

const TINT_SELECTED = [37, 99, 235, 90];
const TINT_OTHER = [15, 23, 42, 115];
const PREVIEW_FILL = [251, 191, 36, 70];
const PREVIEW_EDGE = [251, 191, 36, 255];
const DASH = 4; // pixels per dash of the outline

/** 1 where a mask's red channel (RGBA) is over half, else 0. */
export function maskSelected(rgba, width, height) {
  const selected = new Uint8Array(width * height);
  for (let i = 0; i < selected.length; i += 1) selected[i] = rgba[i * 4] > 127 ? 1 : 0;
  return selected;
}

/** 1 for pixels within `thickness` (a square window) of the boundary between selected and not, on both sides. */
export function maskEdges(selected, width, height, thickness = 1) {
  const seeds = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = y * width + x;
      if (x + 1 < width && selected[i] !== selected[i + 1]) seeds[i] = seeds[i + 1] = 1;
      if (y + 1 < height && selected[i] !== selected[i + width]) seeds[i] = seeds[i + width] = 1;
    }
  }
  return dilate(seeds, width, height, Math.max(0, Math.round(thickness) - 1));
}

/** A square dilation of a 0/1 map by `radius`, as two running-window passes. */
function dilate(map, width, height, radius) {
  if (radius === 0) return map;
  const rows = new Uint8Array(map.length);
  for (let y = 0; y < height; y += 1) runningAny(map, rows, y * width, 1, width, radius);
  const out = new Uint8Array(map.length);
  for (let x = 0; x < width; x += 1) runningAny(rows, out, x, width, height, radius);
  return out;
}

function runningAny(source, target, start, step, count, radius) {
  let inside = 0;
  for (let k = 0; k < Math.min(radius, count); k += 1) inside += source[start + k * step];
  for (let k = 0; k < count; k += 1) {
    if (k + radius < count) inside += source[start + (k + radius) * step];
    if (k - radius - 1 >= 0) inside -= source[start + (k - radius - 1) * step];
    target[start + k * step] = inside > 0 ? 1 : 0;
  }
}

function put(out, i, [r, g, b, a]) {
  out[i * 4] = r;
  out[i * 4 + 1] = g;
  out[i * 4 + 2] = b;
  out[i * 4 + 3] = a;
}

/**
 * Paint the overlay for a selection (`rgba`: the white-is-selected mask drawn at width x height) in `style`
 * into `out` (RGBA, same size). `thickness`: the outline's width in these pixels.
 */
export function maskPaint({ rgba, width, height, style, thickness = 1, out }) {
  if (!MASK_STYLES.includes(style)) throw new RangeError(`unknown mask style ${style}`);
  const selected = maskSelected(rgba, width, height);
  const edges = style === "cutout" ? null : maskEdges(selected, width, height, thickness);
  const square = Math.max(4, 4 * Math.round(thickness * 2));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = y * width + x;
      if (edges && edges[i]) {
        const light = Math.floor((x + y) / (DASH * thickness)) % 2 === 0;
        put(out, i, light ? [255, 255, 255, 255] : [17, 17, 17, 255]);
      } else if (style === "tint") {
        put(out, i, selected[i] ? TINT_SELECTED : TINT_OTHER);
      } else if (style === "cutout" && !selected[i]) {
        const light = (Math.floor(x / square) + Math.floor(y / square)) % 2 === 0;
        put(out, i, light ? [255, 255, 255, 255] : [214, 219, 226, 255]);
      } else {
        put(out, i, [0, 0, 0, 0]);
      }
    }
  }
  return out;
}

/** Paint a hover preview: a light amber wash and a solid amber edge, unlike any selection style. */
export function previewPaint({ rgba, width, height, thickness = 1, out }) {
  const selected = maskSelected(rgba, width, height);
  const edges = maskEdges(selected, width, height, thickness);
  for (let i = 0; i < selected.length; i += 1) {
    if (edges[i] && selected[i]) put(out, i, PREVIEW_EDGE);
    else put(out, i, selected[i] ? PREVIEW_FILL : [0, 0, 0, 0]);
  }
  return out;
}
