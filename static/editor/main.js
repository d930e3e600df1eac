// Wiring: DOM events -> editor state -> api calls -> DOM. Everything URL- or token-shaped
// lives in api.js; everything that can be computed without a DOM lives in the other modules.
import { apiCreate } from "./api.js";
import { CutSession, pointsRequest } from "./editor.js";
import { TOKEN_TIMEOUT_MS, embedChannelCreate, startFailure } from "./embed.js";
import { jpegOrientation } from "./exif.js";
import { bytesFormat, displayToImage, imageToPercent } from "./geometry.js";
import {
  FORMATS,
  PRESETS,
  QUALITIES,
  RESOLUTIONS,
  presetVariants,
  variantCreate,
  variantFileName,
  variantNormalise,
  variantRequest,
  variantSummary,
} from "./variants.js";

const root = document.getElementById("editor");
const $ = (id) => document.getElementById(id);
const config = {
  apiBase: root.dataset.apiBase || "",
  mintUrl: root.dataset.mintUrl || "/mint-token/",
  csrfToken: root.dataset.csrfToken || "",
  embed: root.dataset.embed === "true",
  parentOrigin: root.dataset.parentOrigin || "",
};

// Everything this page stores goes under one folder, so two tabs never overwrite each other.
const FOLDER = `editor/${randomId()}`;
const ACCEPTED = ["image/jpeg", "image/png", "image/webp", "image/avif"];

const state = {
  mode: "removebg", // or "aicut"
  uploads: 0,
  source: null, // { file, path, name, width, height, url, type }
  variants: presetVariants(PRESETS[0].id),
  running: false,
  results: [], // { path, variant, url }
  openVariants: new Set(), // ids of the variants whose settings are expanded
  cut: null, // { session, folder, ready: Promise<{path, width, height}>, exportInput, url }
  cuts: 0,
  overlayFor: null,
  retryAction: null,
  beforeUrl: null,
};

// Embedded, the editor's tokens come from the host page (minted with the customer's own key)
// and its messages go to that page only: see embed.js for the protocol.
const channel = config.embed
  ? embedChannelCreate({ parentOrigin: config.parentOrigin, parent: window.parent, self: window })
  : null;

const api = apiCreate({
  apiBase: config.apiBase,
  mintUrl: config.mintUrl,
  csrfToken: config.csrfToken,
  tokenSource: channel ? channel.tokenFetch : null,
  onWait: (seconds) => noticeShow(`The server is busy; trying again in ${Math.ceil(seconds)} s…`, seconds),
});

function parentPost(type, payload = {}) {
  channel?.post(type, payload);
}

// ---- Errors and announcements -----------------------------------------------------------------
function announce(text) {
  $("status-live").textContent = text;
}

let noticeTimer = null;
function noticeShow(text, seconds) {
  $("notice").textContent = text;
  $("notice").hidden = false;
  announce(text);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => ($("notice").hidden = true), seconds * 1000 + 300);
}

function errorShow(error, { retry = null } = {}) {
  const box = root.querySelector('[data-testid="error-message"]');
  $("error-text").textContent = error.message || String(error);
  const missing = Boolean(error.fileMissing) && state.source;
  $("error-reupload").hidden = !missing;
  // Only a network failure or a server-side problem can go away by trying the same thing again.
  const retryable = !error.status || error.status >= 500 || error.status === 429 || error.status === 408;
  state.retryAction = !missing && retry && retryable ? retry : null;
  $("error-retry").hidden = !state.retryAction;
  box.hidden = false;
  parentPost("error", { status: error.status ?? 0, detail: $("error-text").textContent });
}

function errorHide() {
  root.querySelector('[data-testid="error-message"]').hidden = true;
  state.retryAction = null;
}

$("error-dismiss").addEventListener("click", errorHide);
$("error-retry").addEventListener("click", () => {
  const action = state.retryAction;
  errorHide();
  if (action) action();
});
$("error-reupload").addEventListener("click", () => {
  errorHide();
  if (state.source) sourceUpload(state.source.file);
});

// ---- Upload -----------------------------------------------------------------------------------
function progressShow(label, fraction) {
  $("upload-box").hidden = false;
  $("upload-label").textContent = label;
  const percent = Math.round(fraction * 100);
  $("upload-progress").value = percent;
  $("upload-percent").textContent = `${percent}%`;
}

async function uploadBlob({ blob, stem, label, doneLabel }) {
  const extension = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif" }[blob.type] ?? "jpg";
  progressShow(label, 0);
  const path = await api.upload({
    blob,
    fileName: `${stem}.${extension}`,
    uploadPath: FOLDER,
    onProgress: (loaded, total) => progressShow(label, total ? loaded / total : 0),
  });
  progressShow(doneLabel, 1);
  return path;
}

function fileAccept(file) {
  if (!file) return false;
  if (ACCEPTED.includes(file.type) || /\.(jpe?g|png|webp|avif)$/i.test(file.name)) return true;
  errorShow(new Error(`“${file.name}” is not a JPEG, PNG, WebP or AVIF image.`));
  return false;
}

async function sourceUpload(file) {
  if (!fileAccept(file)) return;
  errorHide();
  resultsClear();
  cutReset();
  if (state.source?.url && state.source.file !== file) URL.revokeObjectURL(state.source.url);
  const url = state.source?.file === file ? state.source.url : URL.createObjectURL(file);
  state.uploads += 1;
  state.source = { file, url, path: null, name: file.name, type: file.type, width: 0, height: 0 };
  const source = state.source;
  $("source").hidden = false;
  $("dropzone").classList.add("dropzone--compact");
  $("source-name").textContent = file.name;
  $("source-facts").textContent = bytesFormat(file.size);
  $("source-preview").hidden = false;
  $("source-no-preview").hidden = true;
  $("source-preview").src = url;
  $("source-preview").decode().then(
    () => {
      source.width = $("source-preview").naturalWidth;
      source.height = $("source-preview").naturalHeight;
      $("source-facts").textContent = `${source.width} × ${source.height} · ${bytesFormat(file.size)}`;
    },
    () => {
      // The browser cannot show it (an AVIF on an old browser, say): the engine may still read it.
      if (state.source !== source) return;
      $("source-preview").hidden = true;
      $("source-no-preview").hidden = false;
    },
  );
  controlsRefresh();
  try {
    source.path = await uploadBlob({ blob: file, stem: fileStem(file.name), label: "Uploading…", doneLabel: "Uploaded" });
    announce("Upload complete.");
  } catch (error) {
    if (state.source === source) {
      $("upload-box").hidden = true;
      if (error.status >= 400 && error.status < 500 && error.status !== 429) sourceForget();
      errorShow(error, { retry: () => sourceUpload(file) });
    }
    return;
  }
  if (state.source !== source) return;
  controlsRefresh();
  if (state.mode === "aicut") cutStart();
}

/** The engine refused the file: nothing of it stays on screen. */
function sourceForget() {
  if (state.source?.url) URL.revokeObjectURL(state.source.url);
  state.source = null;
  $("source").hidden = true;
  $("source-preview").removeAttribute("src");
  $("dropzone").classList.remove("dropzone--compact");
  controlsRefresh();
}

/** A stored-name stem from the user's file name: the v3 path rules allow [A-Za-z0-9._-]. */
function fileStem(name) {
  const stem = name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return stem || "image";
}

$("file-input").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (file) sourceUpload(file);
  event.target.value = ""; // choosing the same file again still fires "change"
});
$("replace-image").addEventListener("click", () => $("file-input").click());

const dropzone = $("dropzone");
for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("dropzone--over");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropzone.addEventListener(type, () => dropzone.classList.remove("dropzone--over"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = [...(event.dataTransfer?.files ?? [])][0];
  if (file) sourceUpload(file);
});
// A file dropped anywhere else must not navigate away from the editor.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

document.addEventListener("paste", (event) => {
  const item = [...(event.clipboardData?.items ?? [])].find((i) => i.kind === "file" && i.type.startsWith("image/"));
  if (!item) return;
  event.preventDefault();
  const blob = item.getAsFile();
  const extension = blob.type.split("/")[1] === "jpeg" ? "jpg" : blob.type.split("/")[1];
  sourceUpload(new File([blob], blob.name || `pasted.${extension}`, { type: blob.type }));
});

// ---- Variants -----------------------------------------------------------------------------------
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

optionsFill($("preset"), [{ value: "", label: "Custom" }, ...PRESETS.map((p) => ({ value: p.id, label: p.label }))]);
$("preset").value = PRESETS[0].id;
$("preset").addEventListener("change", () => {
  if (!$("preset").value) return;
  state.variants = presetVariants($("preset").value);
  variantsRender();
});

function variantsRender() {
  const list = $("variant-list");
  const template = $("variant-template");
  list.replaceChildren(
    ...state.variants.map((variant, index) => {
      const item = template.content.firstElementChild.cloneNode(true);
      item.dataset.variantId = String(variant.id);
      const name = `Output ${index + 1}`;
      item.setAttribute("aria-label", name);
      item.querySelector(".variant__index").textContent = name;
      item.querySelector(".variant__summary").textContent = variantSummary(variant);
      const toggle = item.querySelector('[data-action="toggle"]');
      const open = state.openVariants.has(variant.id);
      toggle.setAttribute("aria-expanded", String(open));
      toggle.setAttribute("aria-controls", `variant-${variant.id}-settings`);
      item.querySelector(".variant__grid").id = `variant-${variant.id}-settings`;
      item.querySelector(".variant__grid").hidden = !open;
      toggle.addEventListener("click", () => {
        const grid = item.querySelector(".variant__grid");
        grid.hidden = !grid.hidden;
        toggle.setAttribute("aria-expanded", String(!grid.hidden));
        if (grid.hidden) state.openVariants.delete(variant.id);
        else state.openVariants.add(variant.id);
      });
      const remove = item.querySelector('[data-action="remove"]');
      remove.setAttribute("aria-label", `Remove output ${index + 1}`);
      remove.disabled = state.variants.length === 1;
      remove.addEventListener("click", () => {
        state.variants = state.variants.filter((v) => v.id !== variant.id);
        $("preset").value = "";
        variantsRender();
      });
      const fields = Object.fromEntries([...item.querySelectorAll("[data-field]")].map((el) => [el.dataset.field, el]));
      optionsFill(fields.format, FORMATS);
      optionsFill(fields.maxResolution, RESOLUTIONS);
      optionsFill(fields.quality, QUALITIES.map((q) => ({ value: q, label: q[0].toUpperCase() + q.slice(1) })));
      // Names for screen readers that say which output a control belongs to.
      const names = {
        format: "Format",
        maxResolution: "Maximum size",
        quality: "AI quality",
        compression: "Compression",
        transparent: "Transparent background",
        color: "Background colour",
        alpha: "Background opacity",
        autocrop: "Crop to subject",
      };
      for (const [key, el] of Object.entries(fields)) el.setAttribute("aria-label", `${names[key]} of output ${index + 1}`);
      variantFieldsWrite(item, variant);
      item.addEventListener("input", (event) => variantEdited(item, variant.id, event));
      item.addEventListener("change", (event) => variantEdited(item, variant.id, event));
      return item;
    }),
  );
  $("add-variant").disabled = state.variants.length >= 10;
}

function variantFieldsWrite(item, variant) {
  const field = (name) => item.querySelector(`[data-field="${name}"]`);
  const lossless = !FORMATS.find((f) => f.value === variant.format).lossy;
  const opaqueOnly = !FORMATS.find((f) => f.value === variant.format).transparent;
  field("format").value = variant.format;
  field("maxResolution").value = String(variant.maxResolution);
  if (field("maxResolution").value !== String(variant.maxResolution)) {
    optionsFill(field("maxResolution"), [...RESOLUTIONS, { value: variant.maxResolution, label: `${variant.maxResolution} px` }]);
    field("maxResolution").value = String(variant.maxResolution);
  }
  field("quality").value = variant.quality;
  field("compression").value = String(variant.compression);
  field("compression").disabled = lossless;
  item.querySelector('[data-out="compression"]').textContent = lossless ? "lossless" : String(variant.compression);
  field("transparent").checked = variant.transparent;
  field("transparent").disabled = opaqueOnly;
  field("color").value = variant.color;
  field("color").disabled = variant.transparent;
  field("alpha").value = String(variant.alpha);
  field("alpha").disabled = variant.transparent || opaqueOnly;
  item.querySelector('[data-out="alpha"]').textContent = `${variant.alpha}%`;
  field("autocrop").checked = variant.autocrop;
  item.querySelector(".variant__summary").textContent = variantSummary(variant);
}

function variantEdited(item, id, event) {
  const el = event.target;
  if (!el.dataset.field) return;
  const index = state.variants.findIndex((v) => v.id === id);
  if (index < 0) return;
  const value =
    el.type === "checkbox" ? el.checked : ["maxResolution", "compression", "alpha"].includes(el.dataset.field) ? Number(el.value) : el.value;
  const updated = variantNormalise({ ...state.variants[index], [el.dataset.field]: value });
  state.variants[index] = updated;
  $("preset").value = "";
  variantFieldsWrite(item, updated);
}

$("add-variant").addEventListener("click", () => {
  if (state.variants.length >= 10) return;
  const variant = variantCreate({ format: "webp", maxResolution: 1_000_000, compression: 80 });
  state.variants.push(variant);
  state.openVariants.add(variant.id);
  $("preset").value = "";
  variantsRender();
  $("variant-list").lastElementChild?.querySelector("select")?.focus();
});

// ---- Remove background and results ---------------------------------------------------------------
function controlsRefresh() {
  const uploaded = Boolean(state.source?.path);
  $("run-remove-bg").disabled = !uploaded || state.running;
  $("run-remove-bg").textContent = state.running && state.mode === "removebg" ? "Working…" : "Remove background";
  const session = state.cut?.session;
  const exportable = Boolean(session?.shown) && !session.shown.empty && !state.running;
  $("aicut-export").disabled = !exportable;
  $("aicut-export").textContent = state.running && state.mode === "aicut" ? "Exporting…" : "Export selection";
  root.classList.toggle("is-busy", state.running);
}

function runFolder() {
  return `${FOLDER}/run-${Date.now().toString(36)}`;
}

async function variantsProduce({ inputPath, maskPath = null, label, beforeUrl }) {
  state.running = true;
  controlsRefresh();
  errorHide();
  announce(`${label}…`);
  const folder = runFolder();
  const source = state.source;
  const variants = state.variants.map((v) => ({ ...v }));
  const requests = variants.map((v, i) => variantRequest(v, { outputPath: `${folder}/${variantFileName(v, i)}` }));
  try {
    const paths = await api.removeBg({ inputPath, variants: requests, maskPath });
    parentPost("result", { output_file_paths: paths });
    if (state.source !== source) return; // another image was chosen meanwhile
    state.beforeUrl = beforeUrl;
    resultsShow(paths.map((path, i) => ({ path, variant: variants[i], fileName: path.split("/").pop() })));
    announce(`${paths.length} ${paths.length === 1 ? "file is" : "files are"} ready.`);
  } catch (error) {
    errorShow(error, { retry: () => variantsProduce({ inputPath, maskPath, label, beforeUrl }) });
  } finally {
    state.running = false;
    controlsRefresh();
  }
}

$("run-remove-bg").addEventListener("click", () => {
  if (!state.source?.path || state.running) return;
  variantsProduce({ inputPath: state.source.path, label: "Removing the background", beforeUrl: state.source.url });
});

function resultsClear() {
  for (const result of state.results) if (result.url) URL.revokeObjectURL(result.url);
  state.results = [];
  $("result-grid").replaceChildren();
  $("results").hidden = true;
  $("compare").hidden = true;
}

function resultsShow(items) {
  resultsClear();
  state.results = items.map((item) => ({ ...item, url: null }));
  $("results").hidden = false;
  $("results-facts").textContent = `${items.length} ${items.length === 1 ? "file" : "files"}`;
  const template = $("result-template");
  const cards = state.results.map((result, index) => {
    const card = template.content.firstElementChild.cloneNode(true);
    card.querySelector(".result__title").textContent = variantSummary(result.variant);
    card.querySelector(".result__facts").textContent = "Loading…";
    const download = card.querySelector('[data-testid="result-download"]');
    download.setAttribute("aria-label", `Download ${result.fileName}`);
    download.addEventListener("click", () => resultDownload(result, download));
    const compare = card.querySelector(".result__compare");
    compare.setAttribute("aria-label", `Compare ${result.fileName} with the original`);
    compare.addEventListener("click", () => compareShow(result));
    // A cropped result no longer lines up with the original, so it has nothing to compare.
    compare.hidden = Boolean(result.variant.autocrop);
    card.dataset.path = result.path;
    resultLoad(result, card, index);
    return card;
  });
  $("result-grid").replaceChildren(...cards);
  $("results").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

async function resultLoad(result, card) {
  const img = card.querySelector(".result__img");
  try {
    const blob = await api.fileBlob(result.path);
    if (!state.results.includes(result)) return; // replaced meanwhile
    result.url = URL.createObjectURL(blob);
    result.size = blob.size;
    img.alt = `Result: ${variantSummary(result.variant)}`;
    img.src = result.url;
    await img.decode();
    result.width = img.naturalWidth;
    result.height = img.naturalHeight;
    card.classList.add("result--loaded");
    card.querySelector(".result__facts").textContent = `${result.width} × ${result.height} · ${bytesFormat(blob.size)}`;
    card.dataset.width = String(result.width);
    card.dataset.height = String(result.height);
    card.dataset.bytes = String(blob.size);
    // Compare the first output that still lines up with the original (not cropped).
    if ($("compare").hidden && state.results.find((r) => !r.variant.autocrop) === result) compareShow(result);
  } catch (error) {
    card.classList.add("result--loaded");
    card.querySelector(".result__facts").textContent = error.message || "Could not load the preview.";
  }
}

/** fetch (with Authorization) -> Blob -> object URL -> <a download>, then revoke the URL. */
async function resultDownload(result, button) {
  button.disabled = true;
  try {
    const blob = await api.fileBlob(result.path);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = result.fileName;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    // The download has taken its copy once click() returns; a moment later the URL can go.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    errorShow(error, { retry: () => resultDownload(result, button) });
  } finally {
    button.disabled = false;
  }
}

function compareShow(result) {
  if (!result.url || !state.source) return;
  $("compare-before").src = state.beforeUrl || state.source.url;
  $("compare-after").src = result.url;
  $("compare-caption").textContent = `Before / after · ${variantSummary(result.variant)}`;
  $("compare").hidden = false;
  compareSet($("compare-range").value);
}

function compareSet(value) {
  // The original fills the left of the slider, the result the right: never one over the other,
  // so the result's transparent pixels show the checkerboard, not the original.
  $("compare-before").style.clipPath = `inset(0 ${100 - value}% 0 0)`;
  $("compare-after").style.clipPath = `inset(0 0 0 ${value}%)`;
  $("compare-handle").style.left = `${value}%`;
}
$("compare-range").addEventListener("input", (event) => compareSet(event.target.value));

// ---- Modes --------------------------------------------------------------------------------------
function modeSet(mode) {
  state.mode = mode;
  const aicut = mode === "aicut";
  $("tab-removebg").setAttribute("aria-selected", String(!aicut));
  $("tab-aicut").setAttribute("aria-selected", String(aicut));
  $("tools").setAttribute("aria-labelledby", aicut ? "tab-aicut" : "tab-removebg");
  $("tools-intro").textContent = aicut
    ? "Point at what to keep; the selection is exported to every output below."
    : "The subject is found automatically. Choose the files you want back.";
  $("run-remove-bg").hidden = aicut;
  $("aicut-export").hidden = !aicut;
  $("aicut-panel").hidden = !aicut;
  $("preview-wrap").hidden = aicut;
  root.classList.toggle("is-aicut", aicut);
  if (aicut && state.source?.path) cutStart();
  controlsRefresh();
}
$("tab-removebg").addEventListener("click", () => modeSet("removebg"));
$("tab-aicut").addEventListener("click", () => modeSet("aicut"));
$("tab-removebg").closest('[role="tablist"]').addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const next = state.mode === "aicut" ? "removebg" : "aicut";
  modeSet(next);
  $(next === "aicut" ? "tab-aicut" : "tab-removebg").focus();
});

// ---- AI Cut -------------------------------------------------------------------------------------
/**
 * AI Cut reads JPEG only. A JPEG without a rotation tag is used as uploaded; anything else
 * (PNG, WebP, AVIF, or a rotated JPEG) is drawn upright on a canvas and re-encoded, so the
 * pixels the engine sees are the pixels the user clicks on.
 */
async function cutSourcePrepare(source) {
  const isJpeg = source.type === "image/jpeg" || (!source.type && /\.jpe?g$/i.test(source.name));
  if (isJpeg) {
    const head = await source.file.slice(0, 256 * 1024).arrayBuffer();
    if (jpegOrientation(head) === 1) return { blob: source.file, reuse: true };
  }
  const bitmap = await createImageBitmap(source.file, { imageOrientation: "from-image" });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff"; // transparent pixels become white, as JPEG has no alpha
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const blob = await new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("This browser could not convert the image to JPEG."))), "image/jpeg", 0.92),
  );
  return { blob, reuse: false };
}

function cutReset() {
  if (state.cut?.url && !state.cut.reuse) URL.revokeObjectURL(state.cut.url);
  state.cut = null;
  state.overlayFor = null;
  $("aicut-image").removeAttribute("src");
  $("aicut-points").replaceChildren();
  overlayClear();
  cutRender();
}

function cutStart() {
  if (state.cut || !state.source?.path) return;
  const source = state.source;
  state.cuts += 1;
  const cut = {
    folder: `${FOLDER}/cut-${state.cuts}`,
    source,
    url: null,
    reuse: false,
    width: 0,
    height: 0,
    session: null,
    ready: null,
  };
  state.cut = cut;
  $("aicut-preparing").hidden = false;
  cut.ready = (async () => {
    const { blob, reuse } = await cutSourcePrepare(source);
    cut.reuse = reuse;
    cut.url = reuse ? source.url : URL.createObjectURL(blob);
    const img = $("aicut-image");
    img.src = cut.url;
    await img.decode();
    cut.width = img.naturalWidth;
    cut.height = img.naturalHeight;
    const path = reuse
      ? source.path
      : await uploadBlob({ blob, stem: `cut-${state.cuts}-source`, label: "Preparing the image for AI Cut…", doneLabel: "Ready for AI Cut" });
    // Export renders from the original when its pixels are the ones clicked on.
    cut.exportInput = reuse || source.type !== "image/jpeg" ? source.path : path;
    return path;
  })();
  cut.ready.then(
    () => {
      if (state.cut === cut) $("aicut-preparing").hidden = true;
    },
    (error) => {
      if (state.cut !== cut) return;
      $("aicut-preparing").hidden = true;
      state.cut = null;
      errorShow(error, { retry: cutStart });
    },
  );
  cut.session = new CutSession({
    segment: async ({ points, version }) => {
      const inputPath = await cut.ready;
      const outputPath = `${cut.folder}/segment-v${version}.jpg`;
      const fields = pointsRequest(points);
      const { empty } = await api.segment({ inputPath, outputPath, foreground: fields.foreground_points, background: fields.background_points, outputType: "mask" });
      return { outputPath, empty };
    },
    onChange: (session) => {
      if (state.cut !== cut) return;
      if (session.error) errorShow(session.error, { retry: () => session.retry() });
      cutRender();
    },
  });
  cutRender();
}

function cutRender() {
  const cut = state.cut;
  const session = cut?.session;
  $("aicut-undo").disabled = !session?.canUndo;
  $("aicut-redo").disabled = !session?.canRedo;
  $("aicut-clear").disabled = !session?.points.length;
  const status = $("aicut-status");
  root.classList.toggle("is-refining", Boolean(session?.busy));
  if (!session) {
    status.textContent = "Upload an image to start";
  } else {
    const count = session.points.length;
    const counted = `${count} ${count === 1 ? "point" : "points"}`;
    if (session.busy) status.textContent = `${counted} · refining…`;
    else if (session.error) status.textContent = `${counted} · failed`;
    else if (!session.points.some((p) => p.positive)) status.textContent = count ? `${counted} · add a point to keep` : "Add a point on the object";
    else if (session.shown?.empty) status.textContent = `${counted} · Nothing selected: click on the object`;
    else status.textContent = `${counted} · selection ready`;
    pointsRender(cut);
    overlayUpdate(cut);
  }
  controlsRefresh();
}

function pointsRender(cut) {
  const session = cut.session;
  const sent = new Set((session.shown?.points ?? []).concat(session.inFlight ?? []));
  const layer = $("aicut-points");
  layer.replaceChildren(
    ...session.points.map((point, index) => {
      const dot = document.createElement("span");
      dot.className = `point ${point.positive ? "point--fg" : "point--bg"}${sent.has(point) ? "" : " point--pending"}`;
      dot.setAttribute("data-testid", "aicut-point");
      dot.dataset.x = String(point.x);
      dot.dataset.y = String(point.y);
      dot.dataset.positive = String(point.positive);
      dot.title = `${point.positive ? "Keep" : "Remove"} point ${index + 1} at ${point.x}, ${point.y}`;
      const at = imageToPercent(point, { imageWidth: cut.width || 1, imageHeight: cut.height || 1 });
      dot.style.left = `${at.left}%`;
      dot.style.top = `${at.top}%`;
      return dot;
    }),
  );
}

function overlayClear() {
  const canvas = $("aicut-overlay");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  canvas.classList.remove("is-shown");
}

async function overlayUpdate(cut) {
  const shown = cut.session.shown;
  const path = shown?.outputPath ?? null;
  if (path === state.overlayFor) return;
  state.overlayFor = path;
  if (!path) {
    overlayClear();
    return;
  }
  try {
    const blob = await api.fileBlob(path);
    if (state.overlayFor !== path) return;
    const bitmap = await createImageBitmap(blob);
    if (state.overlayFor !== path) return;
    overlayDraw(bitmap);
    bitmap.close();
  } catch (error) {
    if (state.overlayFor === path) {
      state.overlayFor = null;
      errorShow(error);
    }
  }
}

/** Dim what is not selected and tint what is, from a white-is-selected mask. */
function overlayDraw(mask) {
  const canvas = $("aicut-overlay");
  // The overlay needs no more pixels than a large screen shows.
  const scale = Math.min(1, 1600 / Math.max(mask.width, mask.height));
  canvas.width = Math.max(1, Math.round(mask.width * scale));
  canvas.height = Math.max(1, Math.round(mask.height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(mask, 0, 0, canvas.width, canvas.height);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const data = image.data;
  for (let i = 0; i < data.length; i += 4) {
    const selected = data[i] / 255;
    // Selected: a light blue wash. Unselected: a dark veil.
    data[i] = 20 + 30 * selected;
    data[i + 1] = 24 + 110 * selected;
    data[i + 2] = 38 + 217 * selected;
    data[i + 3] = Math.round(150 * (1 - selected) + 60 * selected);
  }
  context.putImageData(image, 0, 0);
  canvas.classList.add("is-shown");
}

function cutPointFromEvent(event, positive) {
  const cut = state.cut;
  if (!cut?.session || !cut.width) return;
  const img = $("aicut-image");
  const rect = img.getBoundingClientRect();
  const x = event.clientX - rect.left;
  const y = event.clientY - rect.top;
  if (x < 0 || y < 0 || x > rect.width || y > rect.height) return;
  const point = displayToImage(
    { x, y },
    { displayWidth: rect.width, displayHeight: rect.height, imageWidth: cut.width, imageHeight: cut.height },
  );
  errorHide();
  cut.session.add({ ...point, positive });
}

const stage = $("aicut-stage");
stage.addEventListener("click", (event) => {
  if (event.button !== 0) return;
  // Shift flips the chosen kind; the Keep/Remove switch is for touch screens, which have no shift.
  const keep = root.querySelector('input[name="point-kind"]:checked')?.value !== "remove";
  cutPointFromEvent(event, keep !== event.shiftKey);
});
stage.addEventListener("contextmenu", (event) => {
  event.preventDefault();
  cutPointFromEvent(event, false);
});

$("aicut-undo").addEventListener("click", () => state.cut?.session.undo());
$("aicut-redo").addEventListener("click", () => state.cut?.session.redo());
$("aicut-clear").addEventListener("click", () => state.cut?.session.clear());

$("aicut-export").addEventListener("click", async () => {
  const cut = state.cut;
  if (!cut?.session?.shown || state.running) return;
  state.running = true;
  controlsRefresh();
  // Export what the user sees once the last clicks have been answered.
  await cut.session.whenIdle();
  state.running = false;
  const shown = cut.session.shown;
  if (!shown || shown.empty) {
    controlsRefresh();
    return;
  }
  variantsProduce({
    inputPath: cut.exportInput,
    maskPath: shown.outputPath,
    label: "Exporting the selection",
    beforeUrl: cut.exportInput === cut.source.path ? cut.source.url : cut.url,
  });
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  // Inside form fields the browser's own undo and Escape behaviour wins.
  const typing = 'textarea, select, [contenteditable], input:not([type]), input[type="text"], input[type="number"], input[type="search"]';
  if (target instanceof HTMLElement && target.closest(typing)) return;
  const session = state.mode === "aicut" ? state.cut?.session : null;
  if (!session) return;
  const mod = event.ctrlKey || event.metaKey;
  if (mod && event.key.toLowerCase() === "z") {
    event.preventDefault();
    if (event.shiftKey) session.redo();
    else session.undo();
  } else if (mod && event.key.toLowerCase() === "y") {
    event.preventDefault();
    session.redo();
  } else if (event.key === "Escape") {
    session.clear();
  }
});

// ---- Start ---------------------------------------------------------------------------------------
function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Embedded: get a token from the host page and prove it works before saying "ready". */
async function embedStart() {
  noticeShow("Connecting to the page around this editor…", TOKEN_TIMEOUT_MS / 1000 + 5);
  try {
    await api.tokenCheck();
  } catch (error) {
    $("notice").hidden = true;
    errorShow(startFailure(error), { retry: embedStart });
    return;
  }
  $("notice").hidden = true;
  announce("The editor is ready.");
  parentPost("ready", {});
}

variantsRender();
cutRender();
controlsRefresh();
root.classList.add("is-ready");
if (channel) embedStart();
