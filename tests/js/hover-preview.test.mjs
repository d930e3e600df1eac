// The hover preview's pacing with a fake timer and fetch: one request in flight, the latest hover wins.
import assert from "node:assert/strict";
import { test } from "node:test";

import { HoverPreview } from "../../static/editor/hover-preview.js";

/** A fake timer the test advances by hand, and a fetch whose answers the test releases one by one. */
function harness({ minIntervalMs = 0 } = {}) {
  let now = 0;
  let timers = [];
  const fetches = [];
  const shown = [];
  const errors = [];
  const preview = new HoverPreview({
    delayMs: 100,
    minIntervalMs,
    now: () => now,
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => (timers = timers.filter((t) => t !== timer)),
    fetch: (hover) => new Promise((resolve, reject) => fetches.push({ hover, resolve, reject })),
    onResult: (hover, result) => shown.push([hover.key, result]),
    onError: (error) => errors.push(error),
  });
  const tick = async (ms) => {
    now += ms;
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers = timers.filter((t) => t !== timer);
      timer.fn();
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  const settle = async (index, value) => {
    fetches[index].resolve(value);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { preview, fetches, shown, errors, tick, settle };
}

test("it asks only once the pointer has rested, for the last place it rested on", async () => {
  const h = harness();
  h.preview.hover({ key: "a" });
  await h.tick(50);
  h.preview.hover({ key: "b" });
  await h.tick(50);
  h.preview.hover({ key: "c" });
  await h.tick(99);
  assert.equal(h.fetches.length, 0, "still moving: nothing sent");
  await h.tick(1);
  assert.deepEqual(h.fetches.map((f) => f.hover.key), ["c"]);
  await h.settle(0, "mask-c");
  assert.deepEqual(h.shown, [["c", "mask-c"]]);
});

test("it keeps one request in flight and sends the latest hover when it settles, skipping those between", async () => {
  const h = harness();
  h.preview.hover({ key: "a" });
  await h.tick(100);
  for (const key of ["b", "c", "d"]) {
    h.preview.hover({ key });
    await h.tick(100);
  }
  assert.equal(h.fetches.length, 1, "one in flight");
  await h.settle(0, "mask-a");
  assert.deepEqual(h.shown, [], "a stale answer is not shown");
  assert.deepEqual(h.fetches.map((f) => f.hover.key), ["a", "d"]);
  await h.settle(1, "mask-d");
  assert.deepEqual(h.shown, [["d", "mask-d"]]);
  assert.equal(h.preview.sent, 2);
});

test("a cancelled hover is neither sent nor shown", async () => {
  const h = harness();
  h.preview.hover({ key: "a" });
  await h.tick(100);
  h.preview.hover({ key: "b" });
  h.preview.cancel();
  await h.tick(200);
  await h.settle(0, "mask-a");
  assert.deepEqual(h.shown, []);
  assert.equal(h.fetches.length, 1);
});

test("the same hover again sends nothing new, and a failure is reported", async () => {
  const h = harness();
  h.preview.hover({ key: "a" });
  await h.tick(100);
  h.preview.hover({ key: "a" });
  await h.tick(200);
  assert.equal(h.fetches.length, 1);
  h.fetches[0].reject(new Error("busy"));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(h.errors.length, 1);
  assert.deepEqual(h.shown, []);
});

test("it spaces requests by the minimum interval, however quickly answers come back", async () => {
  const h = harness({ minIntervalMs: 300 });
  h.preview.hover({ key: "a" });
  await h.tick(100);
  assert.equal(h.fetches.length, 1, "sent at 100 ms");
  await h.settle(0, "mask-a");
  h.preview.hover({ key: "b" });
  await h.tick(150); // rested at 250 ms: too soon after the first
  assert.equal(h.fetches.length, 1);
  await h.tick(149);
  assert.equal(h.fetches.length, 1);
  await h.tick(1);
  assert.deepEqual(h.fetches.map((f) => f.hover.key), ["a", "b"], "sent at 400 ms");
});
