// The embedded editor's side of the host-page protocol (README, "Embedding the editor").
//
// The editor holds no key and mints nothing: it asks the page that frames it for access tokens,
// and that page gets them from its own server, minted with the customer's own API key. Messages go
// only to, and are accepted only from, the one parent origin the server checked against
// BGCUT_EMBED_ALLOWED_ORIGINS, and only from the window that really is our parent.
//
//   editor -> host  {source: "bgcut", type: "token-request", request_id}
//   host -> editor  {source: "bgcut-host", type: "token", request_id, access_token, expires_in}
//                   {source: "bgcut-host", type: "token-error", request_id, detail}
//   editor -> host  {source: "bgcut", type: "ready" | "result" | "error", ...}
import { ApiError } from "./api.js";

/** How long the editor waits for the host page to answer a token request. */
export const TOKEN_TIMEOUT_MS = 10_000;

const FROM_EDITOR = "bgcut";
const FROM_HOST = "bgcut-host";

/** A token answer from the host page -> { accessToken, expiresAt } (epoch ms); ApiError when unusable. */
export function tokenFromAnswer(data, { askedAt }) {
  if (data.type === "token-error") {
    const why = typeof data.detail === "string" && data.detail.trim() ? ` It said: ${data.detail.trim()}` : "";
    throw new ApiError(502, `The page that embeds this editor could not get an access token.${why}`);
  }
  if (typeof data.access_token !== "string" || !data.access_token) {
    throw new ApiError(502, "The page that embeds this editor answered without an access token.");
  }
  const seconds = Number(data.expires_in);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ApiError(502, "The page that embeds this editor sent a token without a positive expires_in (seconds).");
  }
  return { accessToken: data.access_token, expiresAt: askedAt + seconds * 1000 };
}

/** Why the editor cannot start, in words for the person and for the host page's developer. */
export function startFailure(error) {
  if (error.status === 401) {
    return new ApiError(401, "The access token from the page that embeds this editor was refused: it has expired " +
      "or is not valid. Its server must mint a fresh one with POST /v3/auth/access-token/.");
  }
  if (error.status === 403) {
    return new ApiError(403, "The access token from the page that embeds this editor does not allow the editor's " +
      `calls: mint it with the paths the README lists. (${error.message})`);
  }
  return error;
}

/**
 * The channel to the parent page. `parent` is window.parent, `self` the editor's window;
 * `tokenFetch()` resolves to { accessToken, expiresAt } or rejects with an ApiError in words.
 */
export function embedChannelCreate({
  parentOrigin,
  parent,
  self,
  timeoutMs = TOKEN_TIMEOUT_MS,
  now = () => Date.now(),
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (id) => clearTimeout(id),
}) {
  const framed = Boolean(parentOrigin) && parent && parent !== self;
  const pending = new Map(); // request_id -> { resolve, reject, timer, askedAt }
  let sent = 0;

  function post(type, payload = {}) {
    // Never "*": a page that navigated the frame's parent elsewhere must hear nothing.
    if (framed) parent.postMessage({ source: FROM_EDITOR, type, ...payload }, parentOrigin);
  }

  function onMessage(event) {
    if (event.origin !== parentOrigin || event.source !== parent) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.source !== FROM_HOST) return;
    const waiting = pending.get(data.request_id);
    if (!waiting || (data.type !== "token" && data.type !== "token-error")) return;
    pending.delete(data.request_id);
    clearTimer(waiting.timer);
    try {
      waiting.resolve(tokenFromAnswer(data, { askedAt: waiting.askedAt }));
    } catch (error) {
      waiting.reject(error);
    }
  }
  if (framed) self.addEventListener("message", onMessage);

  function tokenFetch() {
    if (!framed) {
      return Promise.reject(new ApiError(400, "This editor only works inside the page that embeds it: " +
        "open that page instead of this address."));
    }
    return new Promise((resolve, reject) => {
      sent += 1;
      const requestId = `t${sent}`;
      const timer = setTimer(() => {
        pending.delete(requestId);
        reject(new ApiError(0, `The page that embeds this editor (${parentOrigin}) did not send an access token ` +
          `within ${Math.round(timeoutMs / 1000)} seconds, so the editor cannot start.`));
      }, timeoutMs);
      pending.set(requestId, { resolve, reject, timer, askedAt: now() });
      post("token-request", { request_id: requestId });
    });
  }

  return { framed, post, tokenFetch };
}
