// Output variants as the editor edits them, the presets, their file names and the outputs they ask
// api.removeBg() for (in the editor's own words: api.js alone knows the API's field names). Pure.

export const FORMATS = [
  { value: "png", label: "PNG", extension: "png", transparent: true, lossy: false },
  { value: "webp", label: "WebP", extension: "webp", transparent: true, lossy: true },
  { value: "avif", label: "AVIF", extension: "avif", transparent: true, lossy: true },
  { value: "jpeg", label: "JPEG", extension: "jpg", transparent: false, lossy: true },
];

/** 0: the photo's own size (sent as its pixel count, bounded by the API's 25 MP). */
export const ORIGINAL = 0;
export const MAX_PIXELS = 25_000_000;
const MIN_PIXELS = 4096;

export const RESOLUTIONS = [
  { value: ORIGINAL, label: "Original size" },
  { value: 25_000_000, label: "25 MP (largest)" },
  { value: 12_000_000, label: "12 MP" },
  { value: 4_000_000, label: "4 MP" },
  { value: 1_000_000, label: "1 MP" },
  { value: 250_000, label: "0.25 MP (thumbnail)" },
  { value: 40_000, label: "0.04 MP (icon)" },
];

export const QUALITIES = ["high", "medium", "low"];

const DEFAULTS = Object.freeze({
  format: "png",
  maxResolution: ORIGINAL,
  transparent: true,
  color: "#ffffff",
  alpha: 100,
  quality: "high",
  compression: 85,
  autocrop: false,
});

export const PRESETS = [
  {
    id: "full-thumb-white",
    label: "Full PNG + thumbnail WebP + white JPEG",
    variants: [
      {},
      { format: "webp", maxResolution: 250_000, compression: 80, autocrop: true },
      { format: "jpeg", maxResolution: 4_000_000, transparent: false, color: "#ffffff", compression: 90 },
    ],
  },
  { id: "png", label: "Transparent PNG only", variants: [{}] },
  {
    id: "shop",
    label: "Shop listing: white JPEG + WebP, cropped",
    variants: [
      { format: "jpeg", maxResolution: 4_000_000, transparent: false, color: "#ffffff", compression: 90, autocrop: true },
      { format: "webp", maxResolution: 1_000_000, transparent: false, color: "#ffffff", compression: 82, autocrop: true },
    ],
  },
  {
    id: "web",
    label: "Web: AVIF + WebP, transparent",
    variants: [
      { format: "avif", maxResolution: 4_000_000, compression: 60 },
      { format: "webp", maxResolution: 4_000_000, compression: 80 },
    ],
  },
];

let nextId = 1;

/** A new variant: the defaults, with `overrides` applied and a fresh id. */
export function variantCreate(overrides = {}) {
  const variant = { ...DEFAULTS, ...overrides, id: nextId++ };
  return variantNormalise(variant);
}

/** Make a variant self-consistent: JPEG always has an opaque fill. */
export function variantNormalise(variant) {
  const format = FORMATS.find((f) => f.value === variant.format) ?? FORMATS[0];
  const result = { ...variant, format: format.value };
  if (!format.transparent) {
    result.transparent = false;
    result.alpha = 100;
  }
  result.compression = clampInt(result.compression, 1, 100);
  result.alpha = clampInt(result.alpha, 0, 100);
  return result;
}

/** The variants of a preset, as fresh editable objects. */
export function presetVariants(presetId) {
  const preset = PRESETS.find((p) => p.id === presetId);
  if (!preset) throw new RangeError(`unknown preset ${presetId}`);
  return preset.variants.map((overrides) => variantCreate(overrides));
}

/** The v3 `background_color` of a variant: null (transparent), #rrggbb or #rrggbbaa. */
export function variantBackground(variant) {
  if (variant.transparent) return null;
  const hex = /^#[0-9a-f]{6}$/i.test(variant.color) ? variant.color.toLowerCase() : "#ffffff";
  if (variant.alpha >= 100) return hex;
  const alpha = Math.round((clampInt(variant.alpha, 0, 100) / 100) * 255);
  return hex + alpha.toString(16).padStart(2, "0");
}

/**
 * Output file names after the source: `photo-cutout.png`, `photo-thumb.webp`, `photo-white.jpg`,
 * `photo-blur.jpg` once a `background` is picked; a name that would repeat gets `-2`, `-3`. Every
 * name is a valid v3 path segment.
 */
export function outputNames(variants, stem, { background = null } = {}) {
  const seen = new Map();
  return variants.map((variant) => {
    const format = FORMATS.find((f) => f.value === variant.format) ?? FORMATS[0];
    const base = `${stem}-${variantRole(variant, background)}`;
    const key = `${base}.${format.extension}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    return count === 1 ? key : `${base}-${count}.${format.extension}`;
  });
}

function variantRole(variant, background) {
  const picked = background && background.kind !== "transparent" ? backgroundRole(background) : null;
  if (variant.maxResolution && variant.maxResolution <= 250_000) return picked ? `thumb-${picked}` : "thumb";
  const cropped = variant.autocrop ? "-cropped" : "";
  if (picked) return picked + cropped;
  if (variant.transparent) return `cutout${cropped}`;
  return colourRole(variantBackground(variant)) + cropped;
}

function backgroundRole(background) {
  if (background.kind === "blur") return "blur";
  if (background.kind === "image") return "on-image";
  return colourRole(backgroundOutput(background).backgroundColor ?? "#ffffff");
}

function colourRole(hex) {
  return hex === "#ffffff" ? "white" : `on-${hex.slice(1)}`;
}

/** The pixel budget to ask for: the variant's own, or for ORIGINAL the photo's (25 MP at most). */
export function pixelsFor(variant, { sourcePixels }) {
  if (variant.maxResolution) return variant.maxResolution;
  if (!sourcePixels) return MAX_PIXELS; // size unknown: the engine never upscales, so this is the original
  return Math.min(MAX_PIXELS, Math.max(MIN_PIXELS, Math.round(sourcePixels)));
}

/**
 * One output as api.removeBg() takes it. `background` (backgrounds.js), when given, replaces the
 * variant's own fill: the editor's background picker applies to every output.
 */
export function variantOutput(variant, { outputPath, sourcePixels = 0, background = null }) {
  const output = {
    outputPath,
    format: variant.format,
    maxResolution: pixelsFor(variant, { sourcePixels }),
    backgroundColor: variantBackground(variant),
    backgroundBlur: 0,
    backgroundImagePath: null,
    quality: variant.quality,
    compression: variant.compression,
    autocrop: Boolean(variant.autocrop),
  };
  if (background) {
    const transparent = FORMATS.find((f) => f.value === variant.format)?.transparent;
    Object.assign(output, backgroundOutput(background, { transparent }));
  }
  return output;
}

/** The fill fields of a picked background; a format without alpha gets white for "transparent". */
export function backgroundOutput(background, { transparent = true } = {}) {
  const none = { backgroundColor: null, backgroundBlur: 0, backgroundImagePath: null };
  switch (background.kind) {
    case "blur":
      return { ...none, backgroundBlur: clampInt(background.blur, 1, 100) };
    case "image":
      return { ...none, backgroundImagePath: background.imagePath };
    case "color": {
      const hex = /^#[0-9a-f]{6}$/i.test(background.color) ? background.color.toLowerCase() : "#ffffff";
      const alpha = transparent ? clampInt(background.alpha ?? 100, 0, 100) : 100;
      const suffix = alpha >= 100 ? "" : Math.round((alpha / 100) * 255).toString(16).padStart(2, "0");
      return { ...none, backgroundColor: hex + suffix };
    }
    default:
      return { ...none, backgroundColor: transparent ? null : "#ffffff" };
  }
}

/** A short description for screen readers and result cards: "WebP, 0.25 MP, transparent". */
export function variantSummary(variant) {
  const format = FORMATS.find((f) => f.value === variant.format) ?? FORMATS[0];
  const resolution = RESOLUTIONS.find((r) => r.value === variant.maxResolution);
  const size = variant.maxResolution === ORIGINAL ? "original size"
    : resolution ? resolution.label.replace(/ \(.*\)$/, "") : `${variant.maxResolution} px`;
  const fill = variant.transparent ? "transparent" : `${variantBackground(variant)} background`;
  const parts = [format.label, size, fill];
  if (variant.autocrop) parts.push("cropped");
  return parts.join(", ");
}

function clampInt(value, low, high) {
  const number = Math.round(Number(value));
  if (!Number.isFinite(number)) return high;
  return Math.min(high, Math.max(low, number));
}
