// Thumbnails: a file that expired (or was deleted) since the page was drawn shows a placeholder instead of
// a broken image, and a thumbnail opens large in a dialog rather than a new tab.

export function thumbMissing(link) {
  const placeholder = document.createElement("span");
  placeholder.className = "thumb thumb-missing";
  placeholder.setAttribute("role", "img");
  placeholder.setAttribute("aria-label", `${link.dataset.caption}: expired or deleted`);
  placeholder.textContent = "Expired";
  link.replaceWith(placeholder);
}

export function thumbsWire(root) {
  for (const image of root.querySelectorAll("a.thumb img")) {
    const failed = () => thumbMissing(image.closest("a.thumb"));
    // An image that failed before this module ran has fired its error event already (it reads complete,
    // with no pixels); a lazy image not requested yet reads not complete.
    if (image.complete && image.naturalWidth === 0) failed();
    else image.addEventListener("error", failed, { once: true });
  }
}

export function lightboxWire(root, dialog) {
  if (!dialog || typeof dialog.showModal !== "function") return; // the links still open in a new tab
  const image = dialog.querySelector(".lightbox-image");
  const missing = dialog.querySelector(".lightbox-missing");
  const caption = dialog.querySelector(".lightbox-caption");
  const open = dialog.querySelector(".lightbox-open");
  image.addEventListener("error", () => {
    image.hidden = true;
    missing.hidden = false;
  });
  root.addEventListener("click", (event) => {
    const link = event.target.closest("a.thumb");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    caption.textContent = link.dataset.caption;
    image.hidden = false;
    missing.hidden = true;
    image.alt = link.dataset.caption;
    image.src = link.href;
    open.href = link.href;
    dialog.showModal();
  });
  // A click on the backdrop (outside the dialog's box) closes it, as people expect of a lightbox.
  dialog.addEventListener("click", (event) => {
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top
      && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
  dialog.addEventListener("close", () => image.removeAttribute("src"));
}
