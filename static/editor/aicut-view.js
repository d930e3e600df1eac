// AI Cut: the click stage, its points and mask overlay, undo/redo, and "Export selection".
// Moved as it was from main.js; it reads state.mode/source/job and publishes state.cutReady.
import { CutSession, pointsRequest } from "./editor.js";
import { jpegOrientation } from "./exif.js";
import { displayToImage, imageToPercent } from "./geometry.js";

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
  let cut = null; // { session, folder, ready: Promise<path>, exportInput, url, ... }
  let cuts = 0;
  let overlayFor = null;

  function reset() {
    if (cut?.url && !cut.reuse) URL.revokeObjectURL(cut.url);
    cut = null;
    overlayFor = null;
    $("aicut-image").removeAttribute("src");
    $("aicut-points").replaceChildren();
    overlayClear();
    render();
  }

  function start() {
    const source = state.get("source");
    if (cut || !source?.path) return;
    cuts += 1;
    const current = { folder: `${folder}/cut-${cuts}`, source, url: null, reuse: false, width: 0, height: 0, session: null, ready: null };
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
      const path = reuse
        ? source.path
        : await uploadBlob({ blob, stem: `cut-${cuts}-source`, label: "Preparing the image for AI Cut…", doneLabel: "Ready for AI Cut" });
      // Export renders from the original when its pixels are the ones clicked on.
      current.exportInput = reuse || source.type !== "image/jpeg" ? source.path : path;
      return path;
    })();
    current.ready.then(
      () => {
        if (cut === current) $("aicut-preparing").hidden = true;
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

  function render() {
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
      pointsRender();
      overlayUpdate();
    }
    state.set({ cutReady: Boolean(session?.shown) && !session.shown.empty });
  }

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

  async function overlayUpdate() {
    const path = cut.session.shown?.outputPath ?? null;
    if (path === overlayFor) return;
    overlayFor = path;
    if (!path) {
      overlayClear();
      return;
    }
    try {
      const blob = await api.fileBlob(path);
      if (overlayFor !== path) return;
      const bitmap = await createImageBitmap(blob);
      if (overlayFor !== path) return;
      overlayDraw(bitmap);
      bitmap.close();
    } catch (error) {
      if (overlayFor === path) {
        overlayFor = null;
        errorShow(error, { step: "aicut" });
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

  function pointFromEvent(event, positive) {
    if (!cut?.session || !cut.width) return;
    const rect = $("aicut-image").getBoundingClientRect();
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
    pointFromEvent(event, keep !== event.shiftKey);
  });
  stage.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    pointFromEvent(event, false);
  });
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
  });

  render();
  return { reset };
}
