// The filter form: a time preset and a from/to range exclude each other, and empty fields stay out of
// the URL so a filtered view is a short link to share.

export function filtersWire(form) {
  if (!form) return;
  const within = form.elements.within;
  const range = [form.elements.since, form.elements.until];
  const sync = () => {
    for (const input of range) input.disabled = Boolean(within.value);
  };
  within.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", () => {
    for (const field of form.elements) {
      if (field.name && field.value === "") field.disabled = true;
    }
    // Back from the next page, the form must be usable again (bfcache keeps the disabled state).
    window.addEventListener("pageshow", () => {
      for (const field of form.elements) field.disabled = false;
      sync();
    }, { once: true });
  });
}
