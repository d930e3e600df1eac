// embed.js with fake windows: tokens come only from the vetted parent, in time, in a usable shape.
import assert from "node:assert/strict";
import { test } from "node:test";

import { apiCreate } from "../../static/editor/api.js";
import { embedChannelCreate, startFailure, tokenFromAnswer } from "../../static/editor/embed.js";

const PARENT = "https://shop.example";

/** A fake parent window (records what the editor posts) and the editor's own window. */
function windows() {
  const parent = { posted: [], postMessage(data, origin) { this.posted.push({ data, origin }); } };
  const self = {
    listeners: [],
    addEventListener(type, fn) { if (type === "message") this.listeners.push(fn); },
    deliver(event) { for (const fn of this.listeners) fn(event); },
  };
  return { parent, self };
}

/** Manual timers: `fire()` runs every pending one, as if the timeout had passed. */
function timers() {
  const pending = new Map();
  let next = 0;
  return {
    setTimer: (fn) => { next += 1; pending.set(next, fn); return next; },
    clearTimer: (id) => pending.delete(id),
    fire: () => { for (const [id, fn] of [...pending]) { pending.delete(id); fn(); } },
    count: () => pending.size,
  };
}

function channel(overrides = {}) {
  const w = windows();
  const t = timers();
  const clock = { now: 1_800_000_000_000 };
  const ch = embedChannelCreate({
    parentOrigin: PARENT, parent: w.parent, self: w.self, timeoutMs: 10_000,
    now: () => clock.now, setTimer: t.setTimer, clearTimer: t.clearTimer, ...overrides,
  });
  return { ch, ...w, t, clock };
}

function answer(env, data, { origin = PARENT, source = env.parent } = {}) {
  env.self.deliver({ origin, source, data: { source: "bgcut-host", ...data } });
}

test("it asks the parent for a token, at the parent's origin only, and takes its answer", async () => {
  const env = channel();
  const pending = env.ch.tokenFetch();
  const [{ data, origin }] = env.parent.posted;
  assert.equal(origin, PARENT);
  assert.equal(data.source, "bgcut");
  assert.equal(data.type, "token-request");
  answer(env, { type: "token", request_id: data.request_id, access_token: "tok-1", expires_in: 120 });
  assert.deepEqual(await pending, { accessToken: "tok-1", expiresAt: env.clock.now + 120_000 });
  assert.equal(env.t.count(), 0, "the timeout is cleared once answered");
});

test("it ignores answers from another origin, another window, or with the wrong request id", async () => {
  const env = channel();
  const pending = env.ch.tokenFetch();
  const id = env.parent.posted[0].data.request_id;
  const good = { type: "token", request_id: id, access_token: "tok-good", expires_in: 60 };
  answer(env, { ...good, access_token: "tok-evil-origin" }, { origin: "https://evil.example" });
  answer(env, { ...good, access_token: "tok-evil-window" }, { source: { postMessage() {} } });
  answer(env, { ...good, access_token: "tok-other-id", request_id: "nope" });
  env.self.deliver({ origin: PARENT, source: env.parent, data: { ...good, source: "someone-else" } });
  env.self.deliver({ origin: PARENT, source: env.parent, data: "tok-a-string" });
  answer(env, good);
  assert.equal((await pending).accessToken, "tok-good");
});

test("it gives up with a sentence when the parent never answers", async () => {
  const env = channel();
  const pending = env.ch.tokenFetch();
  env.t.fire();
  await assert.rejects(pending, (error) => {
    assert.equal(error.status, 0);
    assert.match(error.message, /https:\/\/shop\.example\) did not send an access token within 10 seconds/);
    return true;
  });
  // A late answer after the timeout changes nothing and throws nothing.
  answer(env, { type: "token", request_id: env.parent.posted[0].data.request_id, access_token: "late", expires_in: 60 });
});

test("it passes on the parent's own reason when its server could not mint", async () => {
  const env = channel();
  const pending = env.ch.tokenFetch();
  answer(env, { type: "token-error", request_id: env.parent.posted[0].data.request_id, detail: "Sign in to the shop first." });
  await assert.rejects(pending, /could not get an access token\. It said: Sign in to the shop first\./);
});

test("it refuses an answer without a token or without a positive expires_in", () => {
  assert.throws(() => tokenFromAnswer({ type: "token", expires_in: 60 }, { askedAt: 0 }), /without an access token/);
  for (const expires_in of [undefined, 0, -5, "soon"]) {
    assert.throws(() => tokenFromAnswer({ type: "token", access_token: "t", expires_in }, { askedAt: 0 }), /expires_in/);
  }
});

test("it does not ask at all when the page is not framed, and says how to open it", async () => {
  const w = windows();
  const ch = embedChannelCreate({ parentOrigin: PARENT, parent: w.self, self: w.self });
  assert.equal(ch.framed, false);
  await assert.rejects(ch.tokenFetch(), /only works inside the page that embeds it/);
  ch.post("ready");
  assert.deepEqual(w.parent.posted, []);
});

test("a refused or out-of-scope token becomes a start failure the host page's developer can act on", () => {
  assert.match(startFailure({ status: 401, message: "Invalid access token." }).message, /expired or is not valid.*POST \/v3\/auth\/access-token\//);
  const scope = startFailure({ status: 403, message: "This access token is not allowed to call /v3/file-ops/info/." });
  assert.equal(scope.status, 403);
  assert.match(scope.message, /does not allow the editor's calls.*\/v3\/file-ops\/info\//);
  const other = { status: 503, message: "Busy." };
  assert.equal(startFailure(other), other);
});

test("the API client uses the parent's tokens, asks again after a 401 and never calls /mint-token/", async () => {
  const env = channel();
  const urls = [];
  const fetchImpl = async (url, init) => {
    urls.push({ url, auth: init.headers.Authorization });
    const status = init.headers.Authorization === "AccessToken tok-1" ? 401 : 404;
    return new Response(JSON.stringify({ detail: "x" }), { status, headers: { "Content-Type": "application/json" } });
  };
  const api = apiCreate({ tokenSource: env.ch.tokenFetch, fetchImpl, now: () => env.clock.now });
  // Answer each token request as it arrives, with tok-1 then tok-2.
  let answered = 0;
  const realPost = env.parent.postMessage.bind(env.parent);
  env.parent.postMessage = (data, origin) => {
    realPost(data, origin);
    answered += 1;
    queueMicrotask(() => answer(env, { type: "token", request_id: data.request_id, access_token: `tok-${answered}`, expires_in: 60 }));
  };
  await api.tokenCheck();
  assert.deepEqual(urls.map((u) => u.auth), ["AccessToken tok-1", "AccessToken tok-2"]);
  assert.ok(urls.every((u) => u.url.startsWith("/v3/file-ops/info/")));
  assert.ok(!urls.some((u) => u.url.includes("mint-token")));
});
