// Wiring: the page's config, one EditorState, the API client, and the actions that change the
// state (choose an image, remove its background, render a new background). Each view renders
// its part of the state; api.js alone knows URLs, tokens and the API's field names; messages.js
// alone words errors.
import { apiCreate } from "./api.js";
import { aicutViewCreate } from "./aicut-view.js";
import { alertsCreate } from "./alerts.js";
import { TOKEN_TIMEOUT_MS, embedChannelCreate, startFailure } from "./embed.js";
import { ACTIONS, errorExplain, sizeNote, sizeRefusal } from "./messages.js";
import { resultsViewCreate } from "./results-view.js";
import { autoRunRead, sourceViewCreate } from "./source-view.js";
import { stageViewCreate } from "./stage-view.js";
import { EditorState } from "./state.js";
import { MAX_PIXELS, PRESETS, outputNames, presetVariants, variantOutput } from "./variants.js";
import { variantsViewCreate } from "./variants-view.js";

const root = document.getElementById("editor");
const $ = (id) => document.getElementById(id);
const config = {
  apiBase: root.dataset.apiBase || "",
  mintUrl: root.dataset.mintUrl || "/mint-token/",
  csrfToken: root.dataset.csrfToken || "",
  embed: root.dataset.embed === "true",
  parentOrigin: root.dataset.parentOrigin || "",
  maxUploadBytes: Number(root.dataset.maxUploadBytes) || 0,
};

// Everything this page stores goes under one folder, so two tabs never overwrite each other.
const FOLDER = `editor/${randomId()}`;
const ACCEPTED = ["image/jpeg", "image/png", "image/webp", "image/avif"];

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return null; // a third-party frame may have no storage
  }
})();

const state = new EditorState({
  mode: "removebg", // or "aicut"
  source: null, // { id, file, url, name, stem, type, size, width, height, path, note }
  upload: null, // { label, fraction, cancellable }
  variants: presetVariants(PRESETS[0].id),
  job: null, // { label, startedAt }: a remove-bg or render in progress
  results: null, // { items: [{ path, fileName, variant }], stem, inputPath, maskPath, cutout, background, source }
  background: { kind: "transparent", color: "#ffffff", alpha: 100, blur: 20, imagePath: null, bitmap: null },
  autoRun: autoRunRead(storage),
  cutReady: false,
  error: null, // { text, action, retry }
});

// Embedded, the editor's tokens come from the host page (minted with the customer's own key)
// and its messages go to that page only: see embed.js for the protocol.
const channel = config.embed
  ? embedChannelCreate({ parentOrigin: config.parentOrigin, parent: window.parent, self: window })
  : null;

const api = apiCreate({
  apiBase: config.apiBase,
  mintUrl: config.mintUrl,
  // Signing in again (in another tab) rotates the CSRF token: read the cookie at each mint.
  csrfToken: () => cookie("csrftoken") || config.csrfToken,
  tokenSource: channel ? channel.tokenFetch : null,
  onWait: (seconds) => alerts.notice(`The server is busy; trying again in ${Math.ceil(seconds)} s…`, seconds),
});

function parentPost(type, payload = {}) {
  channel?.post(type, payload);
}

// ---- Errors ----------------------------------------------------------------------------------
function errorShow(error, { step = "", retry = null } = {}) {
  if (error?.cancelled) return;
  const { text, action } = errorExplain(error, { step });
  state.set({ error: { text, action, retry } });
  parentPost("error", { status: error?.status ?? 0, detail: text });
}

function errorHide() {
  state.set({ error: null });
}

const alerts = alertsCreate({
  root,
  state,
  actions: {
    [ACTIONS.retry]: (error) => error?.retry?.(),
    [ACTIONS.reupload]: () => state.get("source") && sourceChoose(state.get("source").file),
    [ACTIONS.rerun]: () => removeBgRun(),
  },
});

// ---- Choosing and uploading ------------------------------------------------------------------
let uploadAbort = null;
let sources = 0;

async function uploadBlob({ blob, stem, label, doneLabel, cancellable = false }) {
  const extension = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif" }[blob.type] ?? "jpg";
  const abort = new AbortController();
  if (cancellable) uploadAbort = abort;
  state.set({ upload: { label, fraction: 0, cancellable } });
  try {
    const path = await api.upload({
      blob,
      fileName: `${stem}.${extension}`,
      uploadPath: FOLDER,
      signal: abort.signal,
      onProgress: (loaded, total) => state.set({ upload: { label, fraction: total ? loaded / total : 0, cancellable } }),
    });
    state.set({ upload: { label: doneLabel, fraction: 1, cancellable: false } });
    return path;
  } finally {
    if (uploadAbort === abort) uploadAbort = null;
  }
}

function fileRefusal(file) {
  if (!(ACCEPTED.includes(file.type) || /\.(jpe?g|png|webp|avif)$/i.test(file.name))) {
    return `“${file.name}” is not a JPEG, PNG, WebP or AVIF image.`;
  }
  return sizeRefusal(file, config.maxUploadBytes);
}

/** A stored-name stem from the user's file name: the v3 path rules allow [A-Za-z0-9._-]. */
function fileStem(name) {
  const stem = name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return stem || "image";
}

function sourceSet(id, patch) {
  const source = state.get("source");
  if (source?.id === id) state.set({ source: { ...source, ...patch } });
}

async function sourceChoose(file) {
  const refusal = fileRefusal(file);
  if (refusal) {
    errorShow(new Error(refusal));
    return;
  }
  errorHide();
  const previous = state.get("source");
  const same = previous?.file === file;
  if (previous?.url && !same) URL.revokeObjectURL(previous.url);
  sources += 1;
  const id = sources;
  const url = same ? previous.url : URL.createObjectURL(file);
  state.set({
    source: { id, file, url, name: file.name, stem: fileStem(file.name), type: file.type, size: file.size, width: 0, height: 0, path: null, note: "" },
    results: null,
    cutReady: false,
  });
  const preview = $("source-preview");
  const decoded = preview.decode().then(
    () => sourceSet(id, {
      width: preview.naturalWidth,
      height: preview.naturalHeight,
      note: sizeNote({ width: preview.naturalWidth, height: preview.naturalHeight }, MAX_PIXELS),
    }),
    () => {
      // The browser cannot show it (an AVIF on an old browser, say): the engine may still read it.
      preview.hidden = true;
      $("source-no-preview").hidden = false;
    },
  );
  preview.hidden = false;
  $("source-no-preview").hidden = true;
  let path;
  try {
    path = await uploadBlob({ blob: file, stem: fileStem(file.name), label: "Uploading…", doneLabel: "Uploaded", cancellable: true });
  } catch (error) {
    if (state.get("source")?.id !== id) return;
    sourceViews.uploadHide();
    state.set({ upload: null });
    if (error.cancelled || (error.status >= 400 && error.status < 500 && error.status !== 429)) sourceForget();
    if (error.cancelled) alerts.announce("Upload cancelled.");
    errorShow(error, { step: "upload", retry: () => sourceChoose(file) });
    return;
  }
  await decoded; // its size decides the default output size
  if (state.get("source")?.id !== id) return;
  sourceSet(id, { path });
  alerts.announce("Upload complete.");
  if (state.get("autoRun") && state.get("mode") === "removebg") removeBgRun();
}

/** The engine refused the file, or the upload was cancelled: nothing of it stays on screen. */
function sourceForget() {
  const source = state.get("source");
  if (source?.url) URL.revokeObjectURL(source.url);
  state.set({ source: null, results: null });
}

function uploadCancel() {
  uploadAbort?.abort();
}

// ---- Remove background, render backgrounds ---------------------------------------------------
function runFolder() {
  return `${FOLDER}/run-${Date.now().toString(36)}`;
}

/** The output whose alpha is the whole-frame cutout: a full-size transparent PNG, if asked for. */
function cutoutIndex(variants) {
  return variants.findIndex((v) => v.format === "png" && v.transparent && !v.autocrop && v.maxResolution === 0);
}

/**
 * Run remove-bg for every variant. Without `maskPath` the model runs, and a full-size transparent
 * PNG comes back too (one of the outputs, or an extra one): it is the preview's cutout and, as
 * `mask_file_path`, what later backgrounds render from. With `maskPath` no model runs.
 */
async function produce({ inputPath, maskPath = null, background = null, label, step }) {
  const source = state.get("source");
  if (!source || state.get("job")) return;
  const again = () => produce({ inputPath, maskPath, background, label, step });
  errorHide();
  state.set({ job: { label, startedAt: Date.now() } });
  alerts.announce(`${label}…`);
  const folder = runFolder();
  const variants = state.get("variants").map((v) => ({ ...v }));
  const names = outputNames(variants, source.stem, { background });
  const sourcePixels = source.width * source.height;
  const outputs = variants.map((v, i) => variantOutput(v, { outputPath: `${folder}/${names[i]}`, sourcePixels, background }));
  const previous = state.get("results");
  // A new background keeps the cutout it is drawn under; anything else brings a new one.
  const keepCutout = Boolean(background) && Boolean(previous?.cutout);
  let cutoutAt = keepCutout ? -1 : cutoutIndex(variants);
  if (cutoutAt < 0 && !keepCutout) {
    outputs.push(variantOutput({ ...variants[0], format: "png", transparent: true, autocrop: false, maxResolution: 0 },
      { outputPath: `${folder}/${source.stem}-mask.png`, sourcePixels }));
    cutoutAt = outputs.length - 1;
  }
  try {
    const paths = await api.removeBg({ inputPath, variants: outputs, maskPath });
    const items = variants.map((variant, i) => ({ path: paths[i], fileName: names[i], variant }));
    parentPost("result", { output_file_paths: items.map((item) => item.path) });
    if (state.get("source")?.id !== source.id) return; // another image was chosen meanwhile
    let cutout = previous?.cutout ?? null;
    let mask = previous?.maskPath ?? null;
    if (cutoutAt >= 0) {
      mask = paths[cutoutAt];
      cutout = await createImageBitmap(await api.fileBlob(mask)).catch(() => null);
    }
    state.set({
      job: null,
      results: { items, stem: source.stem, inputPath, maskPath: mask, cutout, background: background ?? { kind: "transparent" } },
    });
    alerts.announce(`${items.length} ${items.length === 1 ? "file is" : "files are"} ready.`);
  } catch (error) {
    state.set({ job: null });
    errorShow(error, { step, retry: again });
  }
}

function removeBgRun() {
  const source = state.get("source");
  if (!source?.path) return;
  produce({ inputPath: source.path, label: "Removing the background", step: "process" });
}

function backgroundApply() {
  const results = state.get("results");
  if (!results?.maskPath) return;
  produce({ inputPath: results.inputPath, maskPath: results.maskPath, background: state.get("background"),
            label: "Rendering the new background", step: "render" });
}

async function backgroundImageChoose(file) {
  const refusal = fileRefusal(file);
  if (refusal) {
    errorShow(new Error(refusal));
    return;
  }
  // Shown at once from the file; uploaded meanwhile so the outputs can be rendered with it.
  const bitmap = await createImageBitmap(file).catch(() => null);
  state.update("background", (bg) => ({ ...bg, kind: "image", bitmap, imagePath: null }));
  try {
    const path = await uploadBlob({ blob: file, stem: `background-${fileStem(file.name)}`, label: "Uploading the background…", doneLabel: "Background ready" });
    if (state.get("background").bitmap === bitmap) state.update("background", (bg) => ({ ...bg, imagePath: path }));
  } catch (error) {
    errorShow(error, { step: "upload", retry: () => backgroundImageChoose(file) });
  }
}

// ---- Views -----------------------------------------------------------------------------------
const sourceViews = sourceViewCreate({ root, state, storage, onFile: sourceChoose, onCancel: uploadCancel });
variantsViewCreate({ root, state });
stageViewCreate({ root, state, onApply: backgroundApply, onBackgroundImage: backgroundImageChoose });
resultsViewCreate({ root, state, api, onError: errorShow });
aicutViewCreate({ root, state, api, folder: FOLDER, uploadBlob, errorShow, errorHide, produce });

// The main buttons and the busy look follow the state.
state.watch(["source", "job", "mode", "cutReady"], () => {
  const job = state.get("job");
  const aicut = state.get("mode") === "aicut";
  $("run-remove-bg").disabled = !state.get("source")?.path || Boolean(job);
  $("run-remove-bg").textContent = job && !aicut ? "Working…" : "Remove background";
  $("aicut-export").disabled = !state.get("cutReady") || Boolean(job);
  $("aicut-export").textContent = job && aicut ? "Exporting…" : "Export selection";
  root.classList.toggle("is-busy", Boolean(job));
});
$("run-remove-bg").addEventListener("click", () => {
  if (!state.get("job")) removeBgRun();
});

// ---- Modes -----------------------------------------------------------------------------------
state.watch(["mode"], () => {
  const aicut = state.get("mode") === "aicut";
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
});
function modeChoose(mode) {
  state.set({ mode });
  // On a laptop screen the photo to click on starts below the fold: bring it into view (no scrolling when it
  // already is). A photo still loading does the same once it has its height (aicut-view.js).
  if (mode === "aicut" && state.get("source")) $("aicut-panel").scrollIntoView({ block: "nearest" });
}
$("tab-removebg").addEventListener("click", () => modeChoose("removebg"));
$("tab-aicut").addEventListener("click", () => modeChoose("aicut"));
$("tab-removebg").closest('[role="tablist"]').addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const next = state.get("mode") === "aicut" ? "removebg" : "aicut";
  state.set({ mode: next }); // no scrolling: the keyboard's focus stays on the tabs
  $(next === "aicut" ? "tab-aicut" : "tab-removebg").focus();
});

// ---- Start -----------------------------------------------------------------------------------
function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

/** Embedded: get a token from the host page and prove it works before saying "ready". */
async function embedStart() {
  alerts.notice("Connecting to the page around this editor…", TOKEN_TIMEOUT_MS / 1000 + 5);
  try {
    await api.tokenCheck();
  } catch (error) {
    alerts.noticeHide();
    errorShow(startFailure(error), { step: "start", retry: embedStart });
    return;
  }
  alerts.noticeHide();
  alerts.announce("The editor is ready.");
  parentPost("ready", {});
}

root.classList.add("is-ready");
if (channel) embedStart();
