// api.js with a fake fetch and clock: minting, re-minting before expiry, retries, error words.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, apiCreate, expiryMillis, retryAfterSeconds, tokenRenewAt } from "../../static/editor/api.js";

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** A fake server: /mint-token/ hands out t1, t2, ... valid for `ttl` ms of the fake clock. */
function fakeServer({ ttl = 120_000, handler }) {
  const clock = { now: 1_800_000_000_000 };
  const log = [];
  let minted = 0;
  const fetchImpl = async (url, init) => {
    log.push({ url, init });
    if (url === "/mint-token/") {
      minted += 1;
      return json(200, { access_token: `t${minted}`, expires_at: new Date(clock.now + ttl).toISOString() });
    }
    return handler(url, init, clock);
  };
  const waits = [];
  const api = apiCreate({
    csrfToken: "csrf",
    now: () => clock.now,
    fetchImpl,
    wait: async (ms) => { waits.push(ms); clock.now += ms; },
  });
  return { api, clock, log, waits, mints: () => minted };
}

test("it mints with the CSRF header and reuses the token while it is fresh", async () => {
  const server = fakeServer({ handler: () => json(200, { output_file_paths: ["a.png"] }) });
  await server.api.removeBg({ inputPath: "in.jpg", variants: [] });
  await server.api.removeBg({ inputPath: "in.jpg", variants: [] });
  assert.equal(server.mints(), 1);
  const mint = server.log[0];
  assert.equal(mint.init.method, "POST");
  assert.equal(mint.init.headers["X-CSRFToken"], "csrf");
  assert.equal(server.log[1].init.headers.Authorization, "AccessToken t1");
});

test("it re-mints before the token expires", async () => {
  const server = fakeServer({ ttl: 120_000, handler: () => json(200, { output_file_path: "o.jpg" }) });
  await server.api.segment({ inputPath: "i.jpg", outputPath: "o.jpg", foreground: [], background: [] });
  server.clock.now += 101_000; // inside the last 20 s of the token's life
  await server.api.segment({ inputPath: "i.jpg", outputPath: "o.jpg", foreground: [], background: [] });
  assert.equal(server.mints(), 2);
  assert.equal(server.log.at(-1).init.headers.Authorization, "AccessToken t2");
});

test("it re-mints once when a token is refused as expired", async () => {
  let calls = 0;
  const server = fakeServer({
    handler: () => (++calls === 1 ? json(401, { detail: "Token expired." }) : json(200, { output_file_path: "o.jpg" })),
  });
  const result = await server.api.segment({ inputPath: "i.jpg", outputPath: "o.jpg", foreground: [], background: [] });
  assert.deepEqual(result, { outputPath: "o.jpg", empty: false });
  assert.equal(server.mints(), 2);
});

test("it waits for Retry-After on 429 and 503, then retries", async () => {
  const answers = [json(429, { detail: "Slow down." }, { "Retry-After": "3" }), json(503, { detail: "Busy." }, { "Retry-After": "1" }), json(200, { output_file_paths: ["x"] })];
  const server = fakeServer({ handler: () => answers.shift() });
  assert.deepEqual(await server.api.removeBg({ inputPath: "i", variants: [] }), ["x"]);
  assert.deepEqual(server.waits, [3000, 1000]);
});

test("it gives up after a few busy answers and shows the detail", async () => {
  const server = fakeServer({ handler: () => json(503, { detail: "The queue is full." }, { "Retry-After": "1" }) });
  await assert.rejects(server.api.removeBg({ inputPath: "i", variants: [] }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 503);
    assert.equal(error.message, "The queue is full.");
    return true;
  });
});

test("it marks a 404 as a missing file that uploading again fixes", async () => {
  const server = fakeServer({ handler: () => json(404, { detail: "File not found: in.jpg" }) });
  await assert.rejects(server.api.removeBg({ inputPath: "in.jpg", variants: [] }), (error) => error.fileMissing && error.message === "File not found: in.jpg");
});

test("it uses its own words when the error has no JSON detail", async () => {
  const server = fakeServer({ handler: () => new Response("<html>bad gateway</html>", { status: 502 }) });
  await assert.rejects(server.api.removeBg({ inputPath: "i", variants: [] }), /could not be reached/);
});

test("it fetches files with the Authorization header", async () => {
  const server = fakeServer({ handler: () => new Response(new Uint8Array([1, 2, 3])) });
  const blob = await server.api.fileBlob("editor/a b/x.png");
  assert.equal(blob.size, 3);
  const call = server.log.at(-1);
  assert.equal(call.url, "/v3/files/editor/a%20b/x.png");
  assert.equal(call.init.headers.Authorization, "AccessToken t1");
});

test("it reads Retry-After as seconds or a date, within bounds", () => {
  assert.equal(retryAfterSeconds("5"), 5);
  assert.equal(retryAfterSeconds(null), 2);
  assert.equal(retryAfterSeconds("9999"), 60);
  assert.equal(retryAfterSeconds(new Date(10_000).toUTCString(), { now: 4_000 }), 6);
});

test("it renews a short-lived token a quarter of its life early", () => {
  assert.equal(tokenRenewAt({ mintedAt: 0, expiresAt: 4_000 }), 3_000);
  assert.equal(tokenRenewAt({ mintedAt: 0, expiresAt: 120_000 }), 100_000);
  assert.equal(expiryMillis("2026-11-24T05:00:00Z"), Date.parse("2026-11-24T05:00:00Z"));
  assert.equal(expiryMillis(1_800_000_000), 1_800_000_000_000);
});

test("it prepares an AI Cut image and reports whether previews are offered", async () => {
  const server = fakeServer({ handler: () => json(200, { prepared: true, preview: false }) });
  assert.deepEqual(await server.api.aicutPrepare({ inputPath: "i.jpg" }), { previewAvailable: false });
  const call = server.log.at(-1);
  assert.equal(call.url, "/v3/tools/ai/ai-cut/prepare/");
  assert.deepEqual(JSON.parse(call.init.body), { input_file_path: "i.jpg" });
});

test("it turns a ready preview into a PNG blob and passes the other statuses on without a mask", async () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  let answer = { status: "ready", mask_png: png.toString("base64"), width: 2, height: 1, empty: false };
  const server = fakeServer({ handler: () => json(200, answer) });
  const ready = await server.api.aicutPreview({ inputPath: "i.jpg", foreground: [{ x: 1, y: 2 }], background: [] });
  assert.equal(ready.status, "ready");
  assert.equal(ready.mask.type, "image/png");
  assert.deepEqual([...new Uint8Array(await ready.mask.arrayBuffer())], [...png]);
  assert.deepEqual(JSON.parse(server.log.at(-1).init.body), {
    input_file_path: "i.jpg", foreground_points: [{ x: 1, y: 2 }], background_points: [],
  });
  answer = { status: "not_prepared", mask_png: null, message: "No preview yet." };
  assert.deepEqual(await server.api.aicutPreview({ inputPath: "i.jpg", foreground: [], background: [] }),
    { status: "not_prepared", mask: null, empty: true });
});

test("a preview never waits on a busy server: it fails at once", async () => {
  const server = fakeServer({ handler: () => json(429, { detail: "Slow down." }, { "Retry-After": "5" }) });
  await assert.rejects(server.api.aicutPreview({ inputPath: "i.jpg", foreground: [], background: [] }), { status: 429 });
  assert.deepEqual(server.waits, []);
  assert.equal(server.log.filter((entry) => entry.url.endsWith("/preview/")).length, 1);
});
