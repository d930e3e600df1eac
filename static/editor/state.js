// The editor's state: one object, changed only through set(), watched by the views.
//
// Views never call each other: they read the state and render it, and controllers (main.js) change
// it. set() tells every watcher whose keys changed, so nothing has to be refreshed by hand.

export class EditorState extends EventTarget {
  #values;

  constructor(initial = {}) {
    super();
    this.#values = { ...initial };
  }

  get(key) {
    return this.#values[key];
  }

  /** Change some keys; watchers of the keys that really changed (not Object.is) are told once. */
  set(patch) {
    const changed = Object.keys(patch).filter((key) => !Object.is(this.#values[key], patch[key]));
    if (!changed.length) return changed;
    for (const key of changed) this.#values[key] = patch[key];
    this.dispatchEvent(new CustomEvent("change", { detail: { changed } }));
    return changed;
  }

  /** Change one key from its current value: `update("variants", (list) => [...list, v])`. */
  update(key, change) {
    return this.set({ [key]: change(this.#values[key]) });
  }

  /**
   * Call `listener(state)` now, and again after every set() that changes one of `keys`.
   * Returns a function that stops watching.
   */
  watch(keys, listener) {
    const handler = (event) => {
      if (event.detail.changed.some((key) => keys.includes(key))) listener(this);
    };
    this.addEventListener("change", handler);
    listener(this);
    return () => this.removeEventListener("change", handler);
  }
}
