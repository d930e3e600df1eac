// The output list: a preset picker and one expandable card per variant. It renders
// state.variants and writes edits back with state.set(); the list is rebuilt only when variants
// are added or removed, so a slider being dragged keeps its focus.
import { FORMATS, PRESETS, QUALITIES, RESOLUTIONS, presetVariants, variantCreate, variantNormalise, variantSummary } from "./variants.js";

const MAX_VARIANTS = 10;
// Names for screen readers that say which output a control belongs to.
const FIELD_NAMES = {
  format: "Format",
  maxResolution: "Maximum size",
  quality: "AI quality",
  compression: "Compression",
  transparent: "Transparent background",
  color: "Background colour",
  alpha: "Background opacity",
  autocrop: "Crop to subject",
};

function optionsFill(select, options) {
  select.replaceChildren(
    ...options.map(({ value, label }) => {
      const option = document.createElement("option");
      option.value = String(value);
      option.textContent = label;
      return option;
    }),
  );
}

export function variantsViewCreate({ root, state }) {
  const $ = (id) => root.querySelector(`#${id}`);
  const open = new Set(); // ids of the variants whose settings are expanded
  let shownIds = "";

  optionsFill($("preset"), [{ value: "", label: "Custom" }, ...PRESETS.map((p) => ({ value: p.id, label: p.label }))]);
  $("preset").value = PRESETS[0].id;
  $("preset").addEventListener("change", () => {
    if ($("preset").value) state.set({ variants: presetVariants($("preset").value) });
  });

  const custom = (variants) => {
    $("preset").value = "";
    state.set({ variants });
  };

  $("add-variant").addEventListener("click", () => {
    const variants = state.get("variants");
    if (variants.length >= MAX_VARIANTS) return;
    const variant = variantCreate({ format: "webp", maxResolution: 1_000_000, compression: 80 });
    open.add(variant.id);
    custom([...variants, variant]);
    $("variant-list").lastElementChild?.querySelector("select")?.focus();
  });

  function itemCreate(variant, index, count) {
    const item = $("variant-template").content.firstElementChild.cloneNode(true);
    item.dataset.variantId = String(variant.id);
    const name = `Output ${index + 1}`;
    item.setAttribute("aria-label", name);
    item.querySelector(".variant__index").textContent = name;
    const toggle = item.querySelector('[data-action="toggle"]');
    const grid = item.querySelector(".variant__grid");
    toggle.setAttribute("aria-expanded", String(open.has(variant.id)));
    toggle.setAttribute("aria-controls", `variant-${variant.id}-settings`);
    grid.id = `variant-${variant.id}-settings`;
    grid.hidden = !open.has(variant.id);
    toggle.addEventListener("click", () => {
      grid.hidden = !grid.hidden;
      toggle.setAttribute("aria-expanded", String(!grid.hidden));
      if (grid.hidden) open.delete(variant.id);
      else open.add(variant.id);
    });
    const remove = item.querySelector('[data-action="remove"]');
    remove.setAttribute("aria-label", `Remove output ${index + 1}`);
    remove.disabled = count === 1;
    remove.addEventListener("click", () => custom(state.get("variants").filter((v) => v.id !== variant.id)));
    const fields = Object.fromEntries([...item.querySelectorAll("[data-field]")].map((el) => [el.dataset.field, el]));
    optionsFill(fields.format, FORMATS);
    optionsFill(fields.maxResolution, RESOLUTIONS);
    optionsFill(fields.quality, QUALITIES.map((q) => ({ value: q, label: q[0].toUpperCase() + q.slice(1) })));
    for (const [key, el] of Object.entries(fields)) el.setAttribute("aria-label", `${FIELD_NAMES[key]} of output ${index + 1}`);
    const edited = (event) => {
      const el = event.target;
      if (!el.dataset.field) return;
      const value = el.type === "checkbox" ? el.checked
        : ["maxResolution", "compression", "alpha"].includes(el.dataset.field) ? Number(el.value) : el.value;
      custom(state.get("variants").map((v) => (v.id === variant.id ? variantNormalise({ ...v, [el.dataset.field]: value }) : v)));
    };
    item.addEventListener("input", edited);
    item.addEventListener("change", edited);
    return item;
  }

  function fieldsWrite(item, variant) {
    const field = (name) => item.querySelector(`[data-field="${name}"]`);
    const format = FORMATS.find((f) => f.value === variant.format);
    field("format").value = variant.format;
    field("maxResolution").value = String(variant.maxResolution);
    if (field("maxResolution").value !== String(variant.maxResolution)) {
      optionsFill(field("maxResolution"), [...RESOLUTIONS, { value: variant.maxResolution, label: `${variant.maxResolution} px` }]);
      field("maxResolution").value = String(variant.maxResolution);
    }
    field("quality").value = variant.quality;
    field("compression").value = String(variant.compression);
    field("compression").disabled = !format.lossy;
    item.querySelector('[data-out="compression"]').textContent = format.lossy ? String(variant.compression) : "lossless";
    field("transparent").checked = variant.transparent;
    field("transparent").disabled = !format.transparent;
    field("color").value = variant.color;
    field("color").disabled = variant.transparent;
    field("alpha").value = String(variant.alpha);
    field("alpha").disabled = variant.transparent || !format.transparent;
    item.querySelector('[data-out="alpha"]').textContent = `${variant.alpha}%`;
    field("autocrop").checked = variant.autocrop;
    item.querySelector(".variant__summary").textContent = variantSummary(variant);
  }

  state.watch(["variants"], () => {
    const variants = state.get("variants");
    const ids = variants.map((v) => v.id).join(",");
    const list = $("variant-list");
    if (ids !== shownIds) {
      shownIds = ids;
      list.replaceChildren(...variants.map((variant, index) => itemCreate(variant, index, variants.length)));
    }
    variants.forEach((variant, index) => fieldsWrite(list.children[index], variant));
    $("add-variant").disabled = variants.length >= MAX_VARIANTS;
  });
}
