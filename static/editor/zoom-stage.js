// A photo that zooms and pans for precise clicks: wheel or pinch zooms about the pointer, a drag (one
// finger, or the mouse) moves the zoomed view, −/+/Fit buttons do the same from the bar; a press that does
// not move is a tap. The arithmetic is geometry.js's (node-tested); this module only reads the events.
//
// The stage is the fitted image's box (its size comes from the image in `layer`); `layer` holds the image
// and its overlays and is magnified and moved with one CSS transform, so they stay aligned at any zoom.
import { VIEW_FIT, imageToView, viewClamp, viewPan, viewPinch, viewToImage, viewZoomAt, zoomLimit } from "./geometry.js";

const ZOOM_STEP = 1.5;
const TAP_SLOP_PX = { mouse: 4, pen: 6, touch: 10 }; // a press that moves further is a drag (a pan)

/**
 * `imageSize()` -> { width, height } of the image in pixels, or null while there is none (no gestures then);
 * `onTap(at, shiftKey)`, `onHover(at, shiftKey)` (a mouse moving with no button down), `onLeave()` and
 * `onView(view)` are told in box coordinates (CSS pixels from the stage's top-left).
 */
export function zoomStageCreate({ stage, layer, controls, imageSize, onTap, onHover, onLeave, onView }) {
  let view = VIEW_FIT;
  const pointers = new Map(); // pointerId -> its last point on the stage
  let gesture = null; // { kind: "tap" | "pan" | "pinch", start, shift, pointerType }

  /** The stage's size and the zoom limit: the image fitted, which the view magnifies and moves inside. */
  function box() {
    const width = stage.clientWidth || 1;
    const height = stage.clientHeight || 1;
    const image = imageSize() ?? { width, height };
    const maxZoom = zoomLimit({ displayWidth: width, imageWidth: image.width });
    return { width, height, maxZoom, imageWidth: image.width, imageHeight: image.height };
  }

  function apply(next) {
    view = viewClamp(next, box());
    layer.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    controls.level.textContent = `${Math.round(view.zoom * 100)}%`;
    controls.zoomOut.disabled = view.zoom <= 1;
    controls.fit.disabled = view.zoom <= 1;
    controls.zoomIn.disabled = view.zoom >= box().maxZoom;
    onView(view);
  }

  function zoomBy(factor, at = null) {
    const b = box();
    const centre = at ?? { x: b.width / 2, y: b.height / 2 };
    apply(viewZoomAt(view, { factor, atX: centre.x, atY: centre.y, ...b }));
  }

  function stagePoint(event) {
    const rect = stage.getBoundingClientRect();
    // The stage's border is not part of its content box, which is what the view maps.
    return { x: event.clientX - rect.left - stage.clientLeft, y: event.clientY - rect.top - stage.clientTop };
  }

  stage.addEventListener("pointerdown", (event) => {
    if (!imageSize() || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault(); // no text selection, no native image drag
    stage.setPointerCapture?.(event.pointerId);
    const at = stagePoint(event);
    pointers.set(event.pointerId, at);
    onLeave();
    if (pointers.size === 1) gesture = { kind: "tap", start: at, shift: event.shiftKey, pointerType: event.pointerType };
    else if (pointers.size === 2) gesture = { kind: "pinch" }; // a second finger: no tap, but zoom
  });

  stage.addEventListener("pointermove", (event) => {
    const at = stagePoint(event);
    if (!pointers.has(event.pointerId)) {
      if (event.pointerType === "mouse" && !event.buttons && imageSize()) onHover(at, event.shiftKey);
      return;
    }
    const before = pointers.get(event.pointerId);
    if (gesture?.kind === "tap") {
      const slop = TAP_SLOP_PX[gesture.pointerType] ?? TAP_SLOP_PX.touch;
      if (Math.hypot(at.x - gesture.start.x, at.y - gesture.start.y) > slop) gesture.kind = "pan";
    }
    if (gesture?.kind === "pan") {
      apply(viewPan(view, { dx: at.x - before.x, dy: at.y - before.y, ...box() }));
    } else if (gesture?.kind === "pinch" && pointers.size === 2) {
      const other = [...pointers.entries()].find(([id]) => id !== event.pointerId)[1];
      apply(viewPinch(view, { a0: before, b0: other, a1: at, b1: other, ...box() }));
    }
    pointers.set(event.pointerId, at);
  });

  function pointerEnd(event, { cancelled }) {
    if (!pointers.has(event.pointerId)) return;
    const at = stagePoint(event);
    pointers.delete(event.pointerId);
    if (!cancelled && gesture?.kind === "tap" && pointers.size === 0) onTap(at, gesture.shift);
    if (pointers.size === 0) gesture = null;
    else if (gesture?.kind === "pinch") gesture = { kind: "pan" }; // one finger left: it moves the view
  }
  stage.addEventListener("pointerup", (event) => pointerEnd(event, { cancelled: false }));
  stage.addEventListener("pointercancel", (event) => pointerEnd(event, { cancelled: true }));
  stage.addEventListener("pointerleave", (event) => {
    if (event.pointerType === "mouse") onLeave();
  });
  stage.addEventListener(
    "wheel",
    (event) => {
      if (!imageSize()) return;
      const lines = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1;
      const factor = Math.exp(-event.deltaY * lines * 0.002);
      if (factor < 1 && view.zoom <= 1) return; // zooming out of the fitted image: let the page scroll
      event.preventDefault();
      zoomBy(factor, stagePoint(event));
    },
    { passive: false },
  );
  new ResizeObserver(() => apply(view)).observe(stage);
  controls.zoomIn.addEventListener("click", () => zoomBy(ZOOM_STEP));
  controls.zoomOut.addEventListener("click", () => zoomBy(1 / ZOOM_STEP));
  controls.fit.addEventListener("click", () => apply(VIEW_FIT));
  apply(view);

  return {
    get view() {
      return view;
    },
    zoomIn: () => zoomBy(ZOOM_STEP),
    zoomOut: () => zoomBy(1 / ZOOM_STEP),
    fit: () => apply(VIEW_FIT),
    /** The point of the stage under an event (CSS pixels from its top-left). */
    stagePoint,
    /** The image pixel under a stage point at the current zoom, or null off the image. */
    toImage: (at) => (imageSize() ? viewToImage(at, view, box()) : null),
    /** The stage point over an image pixel's centre, and whether it is inside the stage. */
    toStage(pixel) {
      const b = box();
      const at = imageToView(pixel, view, b);
      return { ...at, inside: at.x >= 0 && at.y >= 0 && at.x <= b.width && at.y <= b.height };
    },
    /** How wide the whole image is on screen now, in CSS pixels (the fitted width times the zoom). */
    imageScreenWidth: () => (stage.clientWidth || 1) * view.zoom,
  };
}
