// The output files: one card each (preview, size, Download), and "Download all" as one ZIP.
// Files are fetched with the token (api.fileBlob) and handed to the browser as blob: URLs.
import { bytesFormat } from "./geometry.js";
import { variantSummary } from "./variants.js";
import { zipStore } from "./zip.js";

/** Hand `blob` to the browser as a download called `name`, then let its URL go. */
export function blobSave(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken its copy once click() returns; a moment later the URL can go.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return url;
}

export function resultsViewCreate({ root, state, api, onError }) {
  const $ = (id) => root.querySelector(`#${id}`);
  let shown = null;
  const urls = [];

  async function download(item, button) {
    button.disabled = true;
    try {
      blobSave(await api.fileBlob(item.path), item.fileName);
    } catch (error) {
      onError(error, { step: "download", retry: () => download(item, button) });
    } finally {
      button.disabled = false;
    }
  }

  async function downloadAll() {
    const results = state.get("results");
    if (!results) return;
    const button = $("download-all");
    button.disabled = true;
    try {
      if (results.items.length === 1) {
        blobSave(await api.fileBlob(results.items[0].path), results.items[0].fileName);
        return;
      }
      const entries = [];
      for (const item of results.items) {
        const blob = await api.fileBlob(item.path);
        entries.push({ name: item.fileName, bytes: new Uint8Array(await blob.arrayBuffer()) });
      }
      blobSave(new Blob([zipStore(entries)], { type: "application/zip" }), `${results.stem}-all.zip`);
    } catch (error) {
      onError(error, { step: "download", retry: downloadAll });
    } finally {
      button.disabled = false;
    }
  }
  $("download-all").addEventListener("click", downloadAll);

  async function load(item, card) {
    const img = card.querySelector(".result__img");
    try {
      const blob = await api.fileBlob(item.path);
      if (shown !== state.get("results")) return; // replaced meanwhile
      const url = URL.createObjectURL(blob);
      urls.push(url);
      img.alt = `Result: ${variantSummary(item.variant)}`;
      img.src = url;
      await img.decode();
      card.classList.add("result--loaded");
      card.querySelector(".result__facts").textContent = `${img.naturalWidth} × ${img.naturalHeight} · ${bytesFormat(blob.size)}`;
      card.dataset.width = String(img.naturalWidth);
      card.dataset.height = String(img.naturalHeight);
      card.dataset.bytes = String(blob.size);
    } catch (error) {
      card.classList.add("result--loaded");
      card.querySelector(".result__facts").textContent = "Not available";
      if (shown === state.get("results")) onError(error, { step: "result" });
    }
  }

  state.watch(["results"], () => {
    const results = state.get("results");
    if (results === shown) return;
    shown = results;
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
    $("results").hidden = !results;
    if (!results) {
      $("result-grid").replaceChildren();
      return;
    }
    const count = results.items.length;
    $("results-facts").textContent = `${count} ${count === 1 ? "file" : "files"}`;
    $("download-all").textContent = count === 1 ? "Download" : `Download all (${count}, ZIP)`;
    $("download-all").setAttribute("aria-label", count === 1 ? `Download ${results.items[0].fileName}` : `Download all ${count} files as one ZIP`);
    $("result-grid").replaceChildren(...results.items.map((item) => {
      const card = $("result-template").content.firstElementChild.cloneNode(true);
      card.querySelector(".result__title").textContent = item.fileName;
      card.querySelector(".result__facts").textContent = "Loading…";
      card.dataset.path = item.path;
      const button = card.querySelector('[data-testid="result-download"]');
      button.setAttribute("aria-label", `Download ${item.fileName}`);
      button.addEventListener("click", () => download(item, button));
      load(item, card);
      return card;
    }));
  });
}
