// The source picker: choose, drop or paste an image; the upload's progress and its Cancel button;
// the chosen image's name and facts; the "remove the background at once" setting (remembered).
import { bytesFormat } from "./geometry.js";

const AUTO_RUN_KEY = "bgcut.editor.autoRun";

/** The remembered setting; storage may be unavailable (a third-party frame, private mode). */
export function autoRunRead(storage) {
  try {
    return storage?.getItem(AUTO_RUN_KEY) !== "false";
  } catch {
    return true;
  }
}

function autoRunWrite(storage, value) {
  try {
    storage?.setItem(AUTO_RUN_KEY, String(value));
  } catch {
    // Not remembered: it still applies to this page.
  }
}

export function sourceViewCreate({ root, state, onFile, onCancel, storage }) {
  const $ = (id) => root.querySelector(`#${id}`);

  $("file-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) onFile(file);
    event.target.value = ""; // choosing the same file again still fires "change"
  });
  $("replace-image").addEventListener("click", () => $("file-input").click());
  $("upload-cancel").addEventListener("click", onCancel);

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
    if (file) onFile(file);
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
    onFile(new File([blob], blob.name || `pasted.${extension}`, { type: blob.type }));
  });

  const autoRun = $("auto-run");
  autoRun.addEventListener("change", () => {
    autoRunWrite(storage, autoRun.checked);
    state.set({ autoRun: autoRun.checked });
  });
  state.watch(["autoRun"], () => (autoRun.checked = state.get("autoRun")));

  state.watch(["source"], () => {
    const source = state.get("source");
    $("source").hidden = !source;
    dropzone.classList.toggle("dropzone--compact", Boolean(source));
    if (!source) {
      $("source-preview").removeAttribute("src");
      return;
    }
    $("source-name").textContent = source.name;
    const size = source.width ? `${source.width} × ${source.height} · ` : "";
    $("source-facts").textContent = size + bytesFormat(source.size);
    $("source-note").textContent = source.note ?? "";
    $("source-note").hidden = !source.note;
  });

  state.watch(["upload"], () => {
    const upload = state.get("upload");
    if (!upload) {
      $("upload-cancel").hidden = true;
      return;
    }
    $("upload-box").hidden = false;
    $("upload-label").textContent = upload.label;
    const percent = Math.round(upload.fraction * 100);
    $("upload-progress").value = percent;
    $("upload-percent").textContent = `${percent}%`;
    $("upload-cancel").hidden = !upload.cancellable || percent >= 100;
  });

  return {
    uploadHide() {
      $("upload-box").hidden = true;
    },
  };
}
