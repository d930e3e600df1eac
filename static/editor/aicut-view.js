// AI Cut: the click stage (zoom and pan, include/exclude points, the hover preview), the selection's
// display, undo/redo, and "Export selection". It reads state.mode/source/job and publishes state.cutReady.
//
// Opening AI Cut prepares the image on the server (the encoder runs once, uncharged) so that the first
// click only runs the decoder; once prepared, a mouse resting on the photo previews what a click there
// would select. Touch screens get no preview (they have no hover) and no shift-click: the Include/Exclude
// switch is the way to mark what to leave out, and the help says so.
import { CutSession, pointsKey, pointsRequest } from "./editor.js";
import { jpegOrientation } from "./exif.js";
import { HoverPreview } from "./hover-preview.js";
import { maskPaint, previewPaint } from "./mask-display.js";
import { zoomStageCreate } from "./zoom-stage.js";

const OVERLAY_MAX_SIDE = 1600; // the overlay needs no more pixels than a large screen shows
const OUTLINE_CSS_PX = 1.5;
const PREVIEW_PAUSE_MS = 3000; // after a failed preview (429, 503, a network blip), rest before the next

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

export function aicutViewCreate({ root, state, api, folder, uploadBlob, errorShow, errorHide, produce }) {
  const $ = (id) => root.querySelector(`#${id}`);
  const stage = $("aicut-stage");
  const touchOnly = window.matchMedia("(hover: none)").matches;
  let cut = null; // { session, folder, ready: Promise<path>, exportInput, url, prepare, previewAvailable, ... }
  let cuts = 0;
  let overlayFor = null;
  let overlayMask = null; // the shown selection's mask pixels at the overlay's size: restyling needs no fetch
  let previewPausedUntil = 0;
  let drawnZoom = 1;
  let redraw = 0;

  const zoom = zoomStageCreate({
    stage,
    layer: $("aicut-layer"),
    controls: { zoomIn: $("aicut-zoom-in"), zoomOut: $("aicut-zoom-out"), fit: $("aicut-zoom-fit"), level: $("aicut-zoom-level") },
    imageSize: () => (cut?.session && cut.width ? { width: cut.width, height: cut.height } : null),
    // Shift flips the chosen kind (a desktop shortcut); touch screens use the Include/Exclude switch.
    onTap: (at, shiftKey) => addPoint(at, includeChosen() !== shiftKey),
    onHover: (at, shiftKey) => hoverAt(at, shiftKey),
    onLeave: () => {
      hover.cancel();
      previewHide();
    },
    onView: (view) => {
      if (cut?.session) pointsRender();
      if (view.zoom !== drawnZoom && overlayMask && !redraw) {
        // The outline keeps its width on screen: drawn again, thinner in the canvas, once per frame at most.
        redraw = requestAnimationFrame(() => {
          redraw = 0;
          overlayDraw();
        });
      }
    },
  });

  const hover = new HoverPreview({
    fetch: ({ points, current }) => {
      const fields = pointsRequest(points);
      return current.ready.then((inputPath) =>
        api.aicutPreview({ inputPath, foreground: fields.foreground_points, background: fields.background_points }),
      );
    },
    onResult: ({ current }, result) => previewShow(current, result),
    onError: () => {
      previewPausedUntil = Date.now() + PREVIEW_PAUSE_MS;
      previewHide();
    },
  });

  function reset() {
    if (cut?.url && !cut.reuse) URL.revokeObjectURL(cut.url);
    cut = null;
    overlayFor = null;
    overlayMask = null;
    $("aicut-image").removeAttribute("src");
    $("aicut-points").replaceChildren();
    overlayClear();
    previewHide();
    zoom.fit();
    render();
  }

  function start() {
    const source = state.get("source");
    if (cut || !source?.path) return;
    cuts += 1;
    const current = {
      folder: `${folder}/cut-${cuts}`, source, url: null, reuse: false, width: 0, height: 0, session: null, ready: null,
      prepare: "pending", previewAvailable: false, reprepared: false,
    };
    cut = current;
    $("aicut-preparing").hidden = false;
    current.ready = (async () => {
      const { blob, reuse } = await cutSourcePrepare(source);
      current.reuse = reuse;
      current.url = reuse ? source.url : URL.createObjectURL(blob);
      const img = $("aicut-image");
      img.src = current.url;
      await img.decode();
      current.width = img.naturalWidth;
      current.height = img.naturalHeight;
      // Now the photo has its height: on a laptop screen it would start below the fold. The whole panel, so the
      // Include/Exclude switch and the zoom come into view with it (its top first when it is taller than the screen).
      if (cut === current && state.get("mode") === "aicut") $("aicut-panel").scrollIntoView({ block: "nearest" });
      const path = reuse
        ? source.path
        : await uploadBlob({ blob, stem: `cut-${cuts}-source`, label: "Preparing the image for AI Cut…", doneLabel: "Ready for AI Cut" });
      // Export renders from the original when its pixels are the ones clicked on.
      current.exportInput = reuse || source.type !== "image/jpeg" ? source.path : path;
      return path;
    })();
    current.ready.then(
      () => {
        if (cut !== current) return;
        $("aicut-preparing").hidden = true;
        render();
        prepare(current);
      },
      (error) => {
        if (cut !== current) return;
        $("aicut-preparing").hidden = true;
        cut = null;
        errorShow(error, { step: "aicut", retry: start });
      },
    );
    current.session = new CutSession({
      segment: async ({ points, version }) => {
        const inputPath = await current.ready;
        const outputPath = `${current.folder}/segment-v${version}.jpg`;
        const fields = pointsRequest(points);
        const { empty } = await api.segment({ inputPath, outputPath, foreground: fields.foreground_points, background: fields.background_points, outputType: "mask" });
        return { outputPath, empty };
      },
      onChange: (session) => {
        if (cut !== current) return;
        if (session.error) errorShow(session.error, { step: "aicut", retry: () => session.retry() });
        render();
      },
    });
    render();
  }

  /**
   * The server's per-image work, started as soon as the image is there. It is only a head start: if it
   * fails (a busy server, a token without the path), the first click does the work, so nothing is shown.
   */
  async function prepare(current) {
    current.prepare = "pending";
    render();
    try {
      const { previewAvailable } = await api.aicutPrepare({ inputPath: await current.ready });
      current.previewAvailable = previewAvailable;
      current.prepare = "ready";
    } catch {
      current.prepare = "failed";
    }
    if (cut === current) render();
  }

  function render() {
    const session = cut?.session;
    $("aicut-undo").disabled = !session?.canUndo;
    $("aicut-redo").disabled = !session?.canRedo;
    $("aicut-clear").disabled = !session?.points.length;
    const status = $("aicut-status");
    root.classList.toggle("is-refining", Boolean(session?.busy));
    stage.dataset.prepared = cut?.prepare ?? "";
    const preparing = Boolean(cut && cut.prepare === "pending");
    status.classList.toggle("is-preparing", preparing);
    if (!session) {
      status.textContent = "Upload an image to start";
    } else {
      const count = session.points.length;
      const counted = `${count} ${count === 1 ? "point" : "points"}`;
      const verb = touchOnly ? "tap" : "click";
      if (session.busy) status.textContent = `${counted} · refining…`;
      else if (session.error) status.textContent = `${counted} · failed`;
      else if (!count && preparing) status.textContent = "Preparing the image for AI Cut…";
      else if (!count) status.textContent = `Ready: ${verb} on the object to include it`;
      else if (!session.points.some((p) => p.positive)) status.textContent = `${counted} · add a point to include`;
      else if (session.shown?.empty) status.textContent = `${counted} · Nothing selected: ${verb} on the object`;
      else status.textContent = `${counted} · selection ready`;
      pointsRender();
      overlayUpdate();
    }
    state.set({ cutReady: Boolean(session?.shown) && !session.shown.empty });
  }

  // ---- Points, selection and preview ------------------------------------------------------------

  function pointsRender() {
    const session = cut.session;
    const sent = new Set((session.shown?.points ?? []).concat(session.inFlight ?? []));
    $("aicut-points").replaceChildren(
      ...session.points.map((point, index) => {
        const dot = document.createElement("span");
        dot.className = `point ${point.positive ? "point--fg" : "point--bg"}${sent.has(point) ? "" : " point--pending"}`;
        dot.setAttribute("data-testid", "aicut-point");
        dot.dataset.x = String(point.x);
        dot.dataset.y = String(point.y);
        dot.dataset.positive = String(point.positive);
        dot.title = `${point.positive ? "Include" : "Exclude"} point ${index + 1} at ${point.x}, ${point.y}`;
        const at = zoom.toStage(point);
        dot.style.left = `${at.x}px`;
        dot.style.top = `${at.y}px`;
        dot.hidden = !at.inside; // zoomed away from it
        return dot;
      }),
    );
  }

  function addPoint(at, positive) {
    const point = zoom.toImage(at);
    if (!point) return;
    errorHide();
    hover.cancel();
    previewHide();
    cut.session.add({ ...point, positive });
  }

  function overlayClear() {
    const canvas = $("aicut-overlay");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    canvas.classList.remove("is-shown");
    stage.dataset.selection = "none";
  }

  async function overlayUpdate() {
    const path = cut.session.shown?.outputPath ?? null;
    if (path === overlayFor) return;
    overlayFor = path;
    if (!path) {
      overlayMask = null;
      overlayClear();
      return;
    }
    try {
      const blob = await api.fileBlob(path);
      if (overlayFor !== path) return;
      const bitmap = await createImageBitmap(blob);
      if (overlayFor !== path) return;
      overlayMask = maskPixels(bitmap, OVERLAY_MAX_SIDE);
      bitmap.close();
      overlayDraw();
    } catch (error) {
      if (overlayFor === path) {
        overlayFor = null;
        errorShow(error, { step: "aicut" });
      }
    }
  }

  /** The mask's RGBA pixels at most `side` pixels long. */
  function maskPixels(bitmap, side) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return context.getImageData(0, 0, canvas.width, canvas.height);
  }

  /** An outline width of about OUTLINE_CSS_PX on screen at the current zoom, in the pixels of a canvas `width` wide. */
  function thicknessFor(width) {
    return Math.max(1, Math.round((OUTLINE_CSS_PX * width) / zoom.imageScreenWidth()));
  }

  function maskStyle() {
    return root.querySelector('input[name="mask-style"]:checked')?.value ?? "tint";
  }

  /** The shown selection over the photo, in the chosen style (see mask-display.js). */
  function overlayDraw() {
    if (!overlayMask) return;
    const canvas = $("aicut-overlay");
    const { width, height, data } = overlayMask;
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    const out = context.createImageData(width, height);
    drawnZoom = zoom.view.zoom;
    maskPaint({ rgba: data, width, height, style: maskStyle(), thickness: thicknessFor(width), out: out.data });
    context.putImageData(out, 0, 0);
    canvas.classList.add("is-shown");
    stage.dataset.selection = maskStyle();
  }

  function previewsOn() {
    return Boolean(
      !touchOnly && cut?.session && cut.prepare === "ready" && cut.previewAvailable && !cut.session.busy
        && state.get("mode") === "aicut" && Date.now() >= previewPausedUntil,
    );
  }

  function hoverAt(at, shiftKey) {
    if (!previewsOn()) return;
    const point = zoom.toImage(at);
    if (!point) {
      hover.cancel();
      previewHide();
      return;
    }
    const positive = includeChosen() !== shiftKey;
    const points = [...cut.session.points, { ...point, positive }];
    hover.hover({ key: `${cut.folder} ${pointsKey(points)}`, points, current: cut });
  }

  async function previewShow(current, result) {
    if (cut !== current) return;
    if (result.status === "not_prepared" && !current.reprepared) {
      current.reprepared = true; // evicted from the server's cache: prepare again, once
      prepare(current);
    }
    if (result.status === "unavailable") current.previewAvailable = false;
    if (result.status !== "ready") {
      previewHide();
      return;
    }
    const bitmap = await createImageBitmap(result.mask);
    if (cut !== current || !previewsOn()) {
      bitmap.close();
      return;
    }
    const mask = maskPixels(bitmap, Infinity);
    bitmap.close();
    const canvas = $("aicut-hover");
    canvas.width = mask.width;
    canvas.height = mask.height;
    const context = canvas.getContext("2d");
    const out = context.createImageData(mask.width, mask.height);
    previewPaint({ rgba: mask.data, width: mask.width, height: mask.height, thickness: thicknessFor(mask.width), out: out.data });
    context.putImageData(out, 0, 0);
    canvas.hidden = false;
    stage.dataset.preview = result.empty ? "empty" : "shown";
  }

  function previewHide() {
    $("aicut-hover").hidden = true;
    stage.dataset.preview = "none";
  }

  function includeChosen() {
    return root.querySelector('input[name="point-kind"]:checked')?.value !== "exclude";
  }

  // ---- Input (taps, drags, pinches and the wheel: zoom-stage.js) ----------------------------------

  stage.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    if (cut?.session) addPoint(zoom.stagePoint(event), false);
  });
  for (const input of root.querySelectorAll('input[name="mask-style"]')) input.addEventListener("change", overlayDraw);
  $("aicut-undo").addEventListener("click", () => cut?.session.undo());
  $("aicut-redo").addEventListener("click", () => cut?.session.redo());
  $("aicut-clear").addEventListener("click", () => cut?.session.clear());

  $("aicut-export").addEventListener("click", async () => {
    const current = cut;
    if (!current?.session?.shown || state.get("job")) return;
    state.set({ job: { label: "Exporting the selection", startedAt: Date.now() } });
    // Export what the user sees once the last clicks have been answered.
    await current.session.whenIdle();
    state.set({ job: null });
    const shown = current.session.shown;
    if (!shown || shown.empty) return;
    produce({ inputPath: current.exportInput, maskPath: shown.outputPath, label: "Exporting the selection", step: "process" });
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    // Inside form fields the browser's own undo and Escape behaviour wins.
    const typing = 'textarea, select, [contenteditable], input:not([type]), input[type="text"], input[type="number"], input[type="search"]';
    if (target instanceof HTMLElement && target.closest(typing)) return;
    const session = state.get("mode") === "aicut" ? cut?.session : null;
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
    } else if (!mod && (event.key === "+" || event.key === "=")) {
      zoom.zoomIn();
    } else if (!mod && event.key === "-") {
      zoom.zoomOut();
    } else if (!mod && event.key === "0") {
      zoom.fit();
    }
  });

  // A new image ends the cut; an uploaded one starts it when AI Cut is open.
  let cutFor = null;
  state.watch(["source", "mode"], () => {
    const source = state.get("source");
    if (cut && cut.source.file !== source?.file) reset();
    if (source?.path && state.get("mode") === "aicut" && cutFor !== source) {
      cutFor = source;
      start();
    }
    if (state.get("mode") !== "aicut") {
      hover.cancel();
      previewHide();
    }
  });

  render();
  return { reset };
}
