// Output variants as the editor edits them, the presets, and their v3 request form. Pure.

export const FORMATS = [
  { value: "png", label: "PNG", extension: "png", transparent: true, lossy: false },
  { value: "webp", label: "WebP", extension: "webp", transparent: true, lossy: true },
  { value: "avif", label: "AVIF", extension: "avif", transparent: true, lossy: true },
  { value: "jpeg", label: "JPEG", extension: "jpg", transparent: false, lossy: true },
];

export const RESOLUTIONS = [
  { value: 25_000_000, label: "25 MP (largest)" },
  { value: 12_000_000, label: "12 MP (full)" },
  { value: 4_000_000, label: "4 MP" },
  { value: 1_000_000, label: "1 MP" },
  { value: 250_000, label: "0.25 MP (thumbnail)" },
  { value: 40_000, label: "0.04 MP (icon)" },
];

export const QUALITIES = ["high", "medium", "low"];

const DEFAULTS = Object.freeze({
  format: "png",
  maxResolution: 12_000_000,
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

/** The file name a variant is stored and downloaded under, unique within one run. */
export function variantFileName(variant, index) {
  const format = FORMATS.find((f) => f.value === variant.format) ?? FORMATS[0];
  const fill = variant.transparent ? "transparent" : variantBackground(variant).slice(1);
  return `${index + 1}-${format.value}-${variant.maxResolution}-${fill}.${format.extension}`;
}

/** One entry of `output_variants` for remove-bg. */
export function variantRequest(variant, { outputPath }) {
  return {
    output_file_path: outputPath,
    format: variant.format,
    max_resolution: variant.maxResolution,
    background_color: variantBackground(variant),
    quality: variant.quality,
    output_compression: variant.compression,
    autocrop: Boolean(variant.autocrop),
  };
}

/** A short description for screen readers and result cards: "WebP, 0.25 MP, transparent". */
export function variantSummary(variant) {
  const format = FORMATS.find((f) => f.value === variant.format) ?? FORMATS[0];
  const resolution = RESOLUTIONS.find((r) => r.value === variant.maxResolution);
  const fill = variant.transparent ? "transparent" : `${variantBackground(variant)} background`;
  const parts = [format.label, resolution ? resolution.label.replace(/ \(.*\)$/, "") : `${variant.maxResolution} px`, fill];
  if (variant.autocrop) parts.push("cropped");
  return parts.join(", ");
}

function clampInt(value, low, high) {
  const number = Math.round(Number(value));
  if (!Number.isFinite(number)) return high;
  return Math.min(high, Math.max(low, number));
}
