// Rows that expand into their details: a real <button> per row (keyboard and screen readers for free),
// aria-expanded on it and the `hidden` attribute on the detail row it controls.

export function rowToggle(button, expanded = button.getAttribute("aria-expanded") !== "true") {
  const detail = document.getElementById(button.getAttribute("aria-controls"));
  if (!detail) return;
  button.setAttribute("aria-expanded", String(expanded));
  detail.hidden = !expanded;
  button.closest("tr")?.classList.toggle("is-expanded", expanded);
}

export function rowsWire(table) {
  if (!table) return;
  table.addEventListener("click", (event) => {
    const button = event.target.closest(".row-toggle");
    if (button) {
      rowToggle(button);
      return;
    }
    // A click anywhere else on a row (not on a link or a control) expands it too: a wide target for a mouse.
    const row = event.target.closest("tr.job-row");
    if (row && !event.target.closest("a, button, input, select, summary") && !window.getSelection()?.toString()) {
      const toggle = row.querySelector(".row-toggle");
      if (toggle) rowToggle(toggle);
    }
  });
}
