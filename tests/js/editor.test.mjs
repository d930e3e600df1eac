// The AI Cut session: one request in flight, buffered clicks, undo/redo. Run with node --test.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CutSession, pointsKey, pointsRequest } from "../../static/editor/editor.js";

/** A fake `segment` whose calls the test answers one by one. */
function fakeSegment() {
  const calls = [];
  let active = 0;
  let maxActive = 0;
  const segment = ({ points, version }) => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    return new Promise((resolve, reject) => {
      calls.push({
        points,
        version,
        resolve: () => { active -= 1; resolve({ outputPath: `cut/segment-v${version}.jpg` }); },
        reject: (error) => { active -= 1; reject(error); },
      });
    });
  };
  return { segment, calls, maxActive: () => maxActive };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("it sends the first click at once", async () => {
  const fake = fakeSegment();
  const session = new CutSession({ segment: fake.segment });
  session.add({ x: 10, y: 20, positive: true });
  await tick();
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0].version, 1);
  assert.deepEqual(pointsRequest(fake.calls[0].points), { foreground_points: [{ x: 10, y: 20 }], background_points: [] });
});

test("it buffers clicks made while a request runs and sends them all in the next one", async () => {
  const fake = fakeSegment();
  const session = new CutSession({ segment: fake.segment });
  session.add({ x: 1, y: 1, positive: true });
  await tick();
  session.add({ x: 2, y: 2, positive: true });
  session.add({ x: 3, y: 3, positive: false });
  await tick();
  assert.equal(fake.calls.length, 1, "no second request while the first runs");
  fake.calls[0].resolve();
  await tick();
  await tick();
  assert.equal(fake.calls.length, 2);
  assert.equal(fake.calls[1].version, 2);
  assert.deepEqual(pointsRequest(fake.calls[1].points), {
    foreground_points: [{ x: 1, y: 1 }, { x: 2, y: 2 }],
    background_points: [{ x: 3, y: 3 }],
  });
  fake.calls[1].resolve();
  await session.whenIdle();
  assert.equal(fake.maxActive(), 1);
  assert.equal(session.shown.outputPath, "cut/segment-v2.jpg");
  assert.ok(session.current);
});

test("it waits for a foreground point before asking for a selection", async () => {
  const fake = fakeSegment();
  const session = new CutSession({ segment: fake.segment });
  session.add({ x: 5, y: 5, positive: false });
  await tick();
  assert.equal(fake.calls.length, 0);
  session.add({ x: 6, y: 6, positive: true });
  await tick();
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0].points.length, 2);
});

test("it undoes to the previous selection without a new request", async () => {
  const fake = fakeSegment();
  const session = new CutSession({ segment: fake.segment });
  session.add({ x: 1, y: 1, positive: true });
  await tick();
  fake.calls[0].resolve();
  await session.whenIdle();
  session.add({ x: 9, y: 9, positive: false });
  await tick();
  fake.calls[1].resolve();
  await session.whenIdle();
  assert.equal(session.shown.version, 2);
  assert.ok(session.undo());
  await session.whenIdle();
  assert.equal(fake.calls.length, 2, "the one-point result is reused");
  assert.equal(session.shown.outputPath, "cut/segment-v1.jpg");
  assert.ok(session.redo());
  assert.equal(session.shown.outputPath, "cut/segment-v2.jpg");
});

test("it clears every point and undo brings them back", async () => {
  const fake = fakeSegment();
  const session = new CutSession({ segment: fake.segment });
  session.add({ x: 1, y: 1, positive: true });
  session.add({ x: 2, y: 2, positive: true });
  assert.ok(session.clear());
  assert.equal(session.points.length, 0);
  assert.equal(session.canRedo, false);
  session.undo();
  assert.equal(pointsKey(session.points), "+1,1 +2,2");
});

test("it drops the redo history when a new point is added", () => {
  const session = new CutSession({ segment: async () => ({ outputPath: "x" }) });
  session.add({ x: 1, y: 1, positive: true });
  session.undo();
  assert.ok(session.canRedo);
  session.add({ x: 2, y: 2, positive: true });
  assert.equal(session.canRedo, false);
});

test("it reports a failed request and does not repeat it until asked", async () => {
  const fake = fakeSegment();
  const changes = [];
  const session = new CutSession({ segment: fake.segment, onChange: (s) => changes.push(s.error) });
  session.add({ x: 1, y: 1, positive: true });
  await tick();
  fake.calls[0].reject(new Error("boom"));
  await session.whenIdle();
  await tick();
  assert.equal(session.error.message, "boom");
  assert.equal(fake.calls.length, 1);
  session.retry();
  await tick();
  assert.equal(fake.calls.length, 2);
  assert.equal(fake.calls[1].version, 2, "a retry writes a new version");
});

test("a selection the server reports as empty is shown as empty, then cleared by a click that selects", async () => {
  const answers = [{ outputPath: "cut/segment-v1.jpg", empty: true }, { outputPath: "cut/segment-v2.jpg", empty: false }];
  const session = new CutSession({ segment: async () => answers.shift() });
  session.add({ x: 1, y: 1, positive: true });
  await session.whenIdle();
  assert.equal(session.shown.empty, true);
  session.add({ x: 5, y: 5, positive: true });
  await session.whenIdle();
  assert.equal(session.shown.empty, false);
  assert.equal(session.shown.outputPath, "cut/segment-v2.jpg");
});
