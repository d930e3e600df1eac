// The image in place: the photo, then, once removed, the result over it on the chosen background,
// with a slider to compare; the work in progress over it; the background picker under it.
// Backgrounds are composited here on a canvas, at once and with no request: only "Save the
// outputs" asks the server, which renders them from the stored mask (no model pass).

export const SWATCHES = [
  { key: "transparent", label: "Transparent", background: { kind: "transparent" } },
  { key: "white", label: "White", background: { kind: "color", color: "#ffffff", alpha: 100 } },
  { key: "black", label: "Black", background: { kind: "color", color: "#000000", alpha: 100 } },
  { key: "grey", label: "Light grey", background: { kind: "color", color: "#e5e7eb", alpha: 100 } },
  { key: "sand", label: "Sand", background: { kind: "color", color: "#fde68a", alpha: 100 } },
  { key: "sky", label: "Sky blue", background: { kind: "color", color: "#bfdbfe", alpha: 100 } },
  { key: "blur", label: "Blurred photo", background: { kind: "blur" } },
  { key: "image", label: "Your image…", background: { kind: "image" } },
];

/** Same background (what would be rendered), ignoring settings that kind does not use. */
export function backgroundSame(a, b) {
  if (!a || !b || a.kind !== b.kind) return false;
  if (a.kind === "color") return a.color === b.color && a.alpha === b.alpha;
  if (a.kind === "blur") return a.blur === b.blur;
  if (a.kind === "image") return a.imagePath === b.imagePath;
  return true;
}

/** Draw `cutout` (an ImageBitmap) over `background` on `canvas`; `photo` feeds the blur. */
export function stageDraw(canvas, { cutout, photo, background, backdrop }) {
  const scale = Math.min(1, 1600 / Math.max(cutout.width, cutout.height));
  const width = Math.max(1, Math.round(cutout.width * scale));
  const height = Math.max(1, Math.round(cutout.height * scale));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  if (background.kind === "color") {
    context.globalAlpha = (background.alpha ?? 100) / 100;
    context.fillStyle = background.color;
    context.fillRect(0, 0, width, height);
    context.globalAlpha = 1;
  } else if (background.kind === "blur" && photo) {
    // The server's sigma is blur / 1000 × the longer side: the same look at this size.
    const sigma = (background.blur / 1000) * Math.max(width, height);
    const margin = Math.ceil(sigma * 2);
    context.filter = `blur(${sigma}px)`;
    context.drawImage(photo, -margin, -margin, width + 2 * margin, height + 2 * margin);
    context.filter = "none";
  } else if (background.kind === "image" && backdrop) {
    const cover = Math.max(width / backdrop.width, height / backdrop.height);
    const w = backdrop.width * cover;
    const h = backdrop.height * cover;
    context.drawImage(backdrop, (width - w) / 2, (height - h) / 2, w, h);
  }
  context.drawImage(cutout, 0, 0, width, height);
}

export function stageViewCreate({ root, state, onApply, onBackgroundImage }) {
  const $ = (id) => root.querySelector(`#${id}`);
  const canvas = $("result-canvas");
  const photo = $("source-preview");

  const swatches = SWATCHES.map((swatch) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `bg-swatch bg-swatch--${swatch.key}`;
    button.setAttribute("data-testid", `bg-${swatch.key}`);
    button.setAttribute("aria-label", swatch.label);
    button.title = swatch.label;
    if (swatch.background.color) button.style.setProperty("--swatch", swatch.background.color);
    button.addEventListener("click", () => {
      if (swatch.key === "image") {
        $("bg-image-input").click();
        return;
      }
      state.update("background", (bg) => ({ ...bg, ...swatch.background }));
    });
    return { swatch, button };
  });
  $("bg-swatches").replaceChildren(...swatches.map((s) => s.button));
  $("bg-image-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) onBackgroundImage(file);
    event.target.value = "";
  });
  $("bg-color").addEventListener("input", (event) =>
    state.update("background", (bg) => ({ ...bg, kind: "color", color: event.target.value })));
  $("bg-alpha").addEventListener("input", (event) =>
    state.update("background", (bg) => ({ ...bg, kind: "color", alpha: Number(event.target.value) })));
  $("bg-blur").addEventListener("input", (event) =>
    state.update("background", (bg) => ({ ...bg, kind: "blur", blur: Number(event.target.value) })));
  $("bg-apply").addEventListener("click", onApply);

  function compareSet(value) {
    // The original fills the left of the slider, the result the right: never one over the other,
    // so the result's transparent pixels show the checkerboard, not the original.
    const shown = !canvas.hidden;
    photo.style.clipPath = shown ? `inset(0 ${100 - value}% 0 0)` : "";
    canvas.style.clipPath = `inset(0 0 0 ${value}%)`;
    $("compare-handle").style.left = `${value}%`;
    $("compare-handle").hidden = !shown || value <= 0 || value >= 100;
  }
  $("compare-range").addEventListener("input", (event) => compareSet(Number(event.target.value)));

  state.watch(["source"], () => {
    const source = state.get("source");
    if (source && photo.getAttribute("src") !== source.url) photo.src = source.url;
  });

  state.watch(["results", "background"], () => {
    const results = state.get("results");
    const background = state.get("background");
    const cutout = results?.cutout ?? null;
    canvas.hidden = !cutout;
    $("compare").hidden = !cutout;
    $("backgrounds").hidden = !cutout;
    if (cutout) stageDraw(canvas, { cutout, photo, background, backdrop: background.bitmap });
    compareSet(Number($("compare-range").value));
    for (const { swatch, button } of swatches) {
      const pressed = swatch.background.kind === background.kind &&
        (background.kind !== "color" || swatch.background.color === background.color);
      button.setAttribute("aria-pressed", String(pressed));
    }
    $("bg-color").value = background.color;
    $("bg-alpha").value = String(background.alpha);
    $("bg-alpha-out").textContent = `${background.alpha}%`;
    $("bg-blur").value = String(background.blur);
    $("bg-blur-out").textContent = String(background.blur);
    $("bg-alpha-field").hidden = background.kind !== "color";
    $("bg-color-field").hidden = background.kind !== "color";
    $("bg-blur-field").hidden = background.kind !== "blur";
  });

  let ticker = null;
  state.watch(["job", "results", "background"], () => {
    const job = state.get("job");
    const results = state.get("results");
    $("bg-apply").disabled = Boolean(job) || !results || backgroundSame(results.background, state.get("background")) ||
      (state.get("background").kind === "image" && !state.get("background").imagePath);
    $("stage-busy").hidden = !job;
    clearInterval(ticker);
    if (!job) return;
    const tick = () => {
      const seconds = Math.floor((Date.now() - job.startedAt) / 1000);
      $("stage-busy-text").textContent = seconds >= 1 ? `${job.label}… ${seconds} s` : `${job.label}…`;
    };
    tick();
    ticker = setInterval(tick, 1000);
  });
}
