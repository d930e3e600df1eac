// EditorState: set() tells the watchers of the keys that changed, once, and nobody else.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EditorState } from "../../static/editor/state.js";

test("a watcher runs at once and again only when one of its keys changes", () => {
  const state = new EditorState({ source: null, job: null, variants: [] });
  const seen = [];
  state.watch(["job"], (s) => seen.push(s.get("job")));
  assert.deepEqual(seen, [null]);
  state.set({ source: { name: "a.jpg" } });
  assert.deepEqual(seen, [null], "a change of another key is not the job watcher's business");
  state.set({ job: { label: "Working" } });
  assert.equal(seen.length, 2);
  assert.equal(seen[1].label, "Working");
});

test("setting the same value tells nobody, and one set() with several keys tells a watcher once", () => {
  const job = { label: "x" };
  const state = new EditorState({ job, mode: "removebg" });
  let calls = 0;
  state.watch(["job", "mode"], () => (calls += 1));
  assert.deepEqual(state.set({ job, mode: "removebg" }), []);
  assert.equal(calls, 1);
  assert.deepEqual(state.set({ job: null, mode: "aicut" }).sort(), ["job", "mode"]);
  assert.equal(calls, 2);
});

test("update() derives the new value from the current one", () => {
  const state = new EditorState({ variants: [1] });
  state.update("variants", (list) => [...list, 2]);
  assert.deepEqual(state.get("variants"), [1, 2]);
});

test("a stopped watcher hears nothing more", () => {
  const state = new EditorState({ error: null });
  let calls = 0;
  const stop = state.watch(["error"], () => (calls += 1));
  stop();
  state.set({ error: { text: "x" } });
  assert.equal(calls, 1);
});

test("watchers see the whole new state, not a half-applied one", () => {
  const state = new EditorState({ source: null, results: null });
  let seen = null;
  state.watch(["source"], (s) => (seen = [s.get("source"), s.get("results")]));
  state.set({ source: "b", results: "r" });
  assert.deepEqual(seen, ["b", "r"]);
});
