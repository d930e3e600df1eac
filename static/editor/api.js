// The only module that knows URLs, tokens and the `{"detail"}` error shape.
//
// Tokens: from a token source, cached in memory only, and fetched again before they expire. The
// site's own editor mints through /mint-token/ (session + CSRF); the embedded editor passes a
// source that asks its host page (embed.js). v3 calls carry `Authorization: AccessToken ...`;
// a 401 fetches a new token once, 429/503 wait `Retry-After` and retry.

const MAX_ATTEMPTS = 4;
const MAX_WAIT_S = 60;
// A path no editor writes: a working token gets a 404 for it, a refused one 401 or 403.
const TOKEN_CHECK_PATH = "bgcut-token-check/none.png";

/** An error a person can read: `message` is the API's `detail` or a sentence of ours. */
export class ApiError extends Error {
  constructor(status, message, { retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter;
  }

  /** A 404 on a stored file: it expired (2-hour TTL) or was deleted, so uploading again fixes it. */
  get fileMissing() {
    return this.status === 404;
  }
}

/** The error a cancelled upload rejects with: not a failure to report. */
export function cancelledError() {
  const error = new ApiError(0, "The upload was cancelled.");
  error.cancelled = true;
  return error;
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date); `fallback` when absent. */
export function retryAfterSeconds(value, { now = Date.now(), fallback = 2 } = {}) {
  if (value == null || value === "") return fallback;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(MAX_WAIT_S, Math.max(0, seconds));
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.min(MAX_WAIT_S, Math.max(0, (date - now) / 1000));
  return fallback;
}

/** `expires_at` as epoch milliseconds: the API may send an ISO date or epoch seconds. */
export function expiryMillis(expiresAt) {
  if (typeof expiresAt === "number") return expiresAt < 1e12 ? expiresAt * 1000 : expiresAt;
  const parsed = Date.parse(expiresAt);
  if (!Number.isFinite(parsed)) throw new ApiError(502, "The token service answered without an expiry.");
  return parsed;
}

/** When to stop using a token: a margin before its expiry, a quarter of its life at most. */
export function tokenRenewAt({ mintedAt, expiresAt }) {
  const life = Math.max(0, expiresAt - mintedAt);
  return expiresAt - Math.min(20_000, life / 4);
}

const STATUS_WORDS = {
  400: "The request was not accepted.",
  401: "Your session has expired. Reload the page to sign in again.",
  402: "The account has run out of credits.",
  403: "This action is not allowed.",
  404: "The file was not found: it may have expired. Upload the image again.",
  413: "The file is too large.",
  415: "That file type is not supported. Use a JPEG, PNG, WebP or AVIF image.",
  429: "Too many requests. Please wait a moment.",
  500: "The server had a problem. Please try again.",
  502: "The image service could not be reached.",
  503: "The server is busy. Please try again shortly.",
  504: "Processing took too long. Try a smaller size or a lower quality.",
  507: "The storage space is full.",
};

function wordsFor(status) {
  return STATUS_WORDS[status] ?? `The server answered with an error (${status}).`;
}

async function errorFromResponse(response) {
  let detail = null;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    // Not JSON (a proxy's HTML page, say): fall back to our own words.
  }
  const error = new ApiError(response.status, detail ?? wordsFor(response.status), {
    retryAfter: response.headers.get("Retry-After"),
  });
  // The API's own sentence may name fields and paths: messages.js decides what a person reads.
  error.fromApi = detail !== null;
  return error;
}

function networkError() {
  return new ApiError(0, "Could not reach the server. Check your connection and try again.");
}

/** One output (variants.js variantOutput) in the API's words; the extensions only when used. */
export function variantWire(output) {
  const wire = {
    output_file_path: output.outputPath,
    format: output.format,
    max_resolution: output.maxResolution,
    background_color: output.backgroundColor ?? null,
    quality: output.quality,
    output_compression: output.compression,
    autocrop: Boolean(output.autocrop),
  };
  if (output.backgroundBlur) wire.background_blur = output.backgroundBlur;
  if (output.backgroundImagePath) wire.background_image_path = output.backgroundImagePath;
  return wire;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client bound to one page: `apiBase` ("" = same origin), and where tokens come from: the
 * site's `mintUrl` with the page's `csrfToken` (a string, or a function read at each mint: signing in
 * again in another tab rotates it), or `tokenSource()` -> { accessToken, expiresAt }.
 * `onWait(seconds, error)` lets the page say it is retrying.
 */
export function apiCreate({
  apiBase = "",
  mintUrl = "/mint-token/",
  csrfToken = "",
  tokenSource = null,
  onWait = () => {},
  onMint = () => {},
  now = () => Date.now(),
  fetchImpl = (...args) => globalThis.fetch(...args),
  XhrImpl = globalThis.XMLHttpRequest,
  wait = sleep,
} = {}) {
  let token = null; // { value, renewAt }
  let minting = null;

  /** The site's own editor: POST /mint-token/ with the session cookie and the CSRF token. */
  async function siteMint() {
    const headers = { Accept: "application/json" };
    const csrf = typeof csrfToken === "function" ? csrfToken() : csrfToken;
    if (csrf) headers["X-CSRFToken"] = csrf;
    for (let attempt = 1; ; attempt += 1) {
      let response;
      try {
        response = await fetchImpl(mintUrl, { method: "POST", headers, credentials: "same-origin" });
      } catch {
        throw networkError();
      }
      if (response.ok) {
        const body = await response.json();
        return { accessToken: body.access_token, expiresAt: expiryMillis(body.expires_at) };
      }
      const error = await errorFromResponse(response);
      if ((response.status === 429 || response.status === 503) && attempt < MAX_ATTEMPTS) {
        const seconds = retryAfterSeconds(error.retryAfter);
        onWait(seconds, error);
        await wait(seconds * 1000);
        continue;
      }
      // 401/403 here: the site's session ended (signed out in another tab, say).
      error.signedOut = response.status === 401 || response.status === 403;
      throw error;
    }
  }

  async function mint() {
    const mintedAt = now();
    const { accessToken, expiresAt } = await (tokenSource ?? siteMint)();
    token = { value: accessToken, renewAt: tokenRenewAt({ mintedAt, expiresAt }) };
    onMint({ expiresAt });
    return token.value;
  }

  /** A token good for a while yet, minting one if needed; concurrent callers share one mint. */
  async function tokenGet() {
    if (token && now() < token.renewAt) return token.value;
    if (!minting) minting = mint().finally(() => (minting = null));
    return minting;
  }

  function tokenDrop(value) {
    if (token && token.value === value) token = null;
  }

  /**
   * Run `send(token)` -> { status, headers:get(), error:async() , ...} under the retry rules:
   * one re-mint on 401, up to MAX_ATTEMPTS waits on 429/503 (none when `waits` is false: a call whose
   * answer is only useful now, like a hover preview, gives up instead).
   */
  async function withRetries(send, { waits = true } = {}) {
    let reminted = false;
    const attempts = waits ? MAX_ATTEMPTS : 1;
    for (let attempt = 1; ; attempt += 1) {
      const value = await tokenGet();
      const outcome = await send(value);
      if (outcome.ok) return outcome;
      if (outcome.status === 401 && !reminted) {
        reminted = true;
        tokenDrop(value);
        continue;
      }
      const error = await outcome.error();
      if ((outcome.status === 429 || outcome.status === 503) && attempt < attempts) {
        const seconds = retryAfterSeconds(error.retryAfter);
        onWait(seconds, error);
        await wait(seconds * 1000);
        continue;
      }
      throw error;
    }
  }

  async function call(method, path, { json, waits = true } = {}) {
    const outcome = await withRetries(async (value) => {
      const headers = { Authorization: `AccessToken ${value}`, Accept: "application/json" };
      const init = { method, headers, credentials: "omit" };
      if (json !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(json);
      }
      let response;
      try {
        response = await fetchImpl(apiBase + path, init);
      } catch {
        throw networkError();
      }
      return { ok: response.ok, status: response.status, response, error: () => errorFromResponse(response) };
    }, { waits });
    return outcome.response;
  }

  function filesUrl(path) {
    return `${apiBase}/v3/files/${path.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** POST one file to /v3/file-ops/upload/ with XHR, for real upload progress events. */
  function uploadOnce(value, { blob, fileName, uploadPath, onProgress, signal }) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledError());
        return;
      }
      const xhr = new XhrImpl();
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.onabort = () => reject(cancelledError());
      xhr.open("POST", `${apiBase}/v3/file-ops/upload/`);
      xhr.setRequestHeader("Authorization", `AccessToken ${value}`);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      };
      xhr.onerror = () => reject(networkError());
      xhr.onload = () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // handled below
        }
        const ok = xhr.status >= 200 && xhr.status < 300;
        resolve({
          ok,
          status: xhr.status,
          body,
          error: async () => {
            const detail = body && typeof body.detail === "string" ? body.detail : null;
            const error = new ApiError(xhr.status, detail ?? wordsFor(xhr.status), {
              retryAfter: xhr.getResponseHeader("Retry-After"),
            });
            error.fromApi = detail !== null;
            return error;
          },
        });
      };
      const form = new FormData();
      form.append("upload_path", uploadPath);
      form.append("files", blob, fileName);
      xhr.send(form);
    });
  }

  return {
    tokenGet,

    /** Prove the token source gives a token the API accepts; throws the API's ApiError when not. */
    async tokenCheck() {
      try {
        await call("GET", `/v3/file-ops/info/?file_path=${encodeURIComponent(TOKEN_CHECK_PATH)}`);
      } catch (error) {
        if (error.status !== 404) throw error;
      }
    },

    /**
     * Upload a Blob; returns its stored path. `onProgress(loaded, total)` follows the bytes sent;
     * aborting `signal` cancels it (the promise rejects with `cancelledError()`).
     */
    async upload({ blob, fileName, uploadPath, onProgress = () => {}, signal = null }) {
      const outcome = await withRetries((value) => uploadOnce(value, { blob, fileName, uploadPath, onProgress, signal }));
      const paths = outcome.body && outcome.body.file_paths;
      if (!Array.isArray(paths) || !paths.length) throw new ApiError(502, "The upload answer named no file.");
      return paths[0];
    },

    /** Metadata of a stored file: size, content_type, width, height, expires_at. */
    async info(path) {
      const response = await call("GET", `/v3/file-ops/info/?file_path=${encodeURIComponent(path)}`);
      return response.json();
    },

    /**
     * Render variants from one image; `maskPath` renders from a stored mask (AI Cut, or a new
     * background from the first call's cutout): no model pass. `variants` come from variantOutput().
     */
    async removeBg({ inputPath, variants, maskPath = null }) {
      const json = { input_file_path: inputPath, output_variants: variants.map(variantWire) };
      if (maskPath) json.mask_file_path = maskPath;
      const response = await call("POST", "/v3/tools/ai/remove-bg/process/", { json });
      return (await response.json()).output_file_paths;
    },

    /** One AI Cut call carrying every point; returns `{outputPath, empty}` (empty: the points select nothing). */
    async segment({ inputPath, outputPath, foreground, background, outputType = "mask" }) {
      const json = {
        input_file_path: inputPath,
        output_file_path: outputPath,
        foreground_points: foreground,
        background_points: background,
        output_type: outputType,
      };
      const response = await call("POST", "/v3/tools/ai/ai-cut/segment/", { json });
      const body = await response.json();
      return { outputPath: body.output_file_path, empty: Boolean(body.empty) };
    },

    /**
     * AI Cut's per-image work, done now so that the first click is fast (not charged; idempotent).
     * Returns `{ previewAvailable }`: whether the server gives hover previews.
     */
    async aicutPrepare({ inputPath }) {
      const response = await call("POST", "/v3/tools/ai/ai-cut/prepare/", { json: { input_file_path: inputPath } });
      return { previewAvailable: Boolean((await response.json()).preview) };
    },

    /**
     * What the points would select (the hovered one included), as a small mask: `{ status, mask, empty }`
     * with `status` "ready" (`mask` a PNG Blob, white = selected), "not_prepared" or "unavailable". Never
     * waits on 429/503: a preview is only worth having now.
     */
    async aicutPreview({ inputPath, foreground, background }) {
      const json = { input_file_path: inputPath, foreground_points: foreground, background_points: background };
      const response = await call("POST", "/v3/tools/ai/ai-cut/preview/", { json, waits: false });
      const body = await response.json();
      if (body.status !== "ready" || typeof body.mask_png !== "string") return { status: body.status, mask: null, empty: true };
      const bytes = Uint8Array.from(atob(body.mask_png), (c) => c.charCodeAt(0));
      return { status: "ready", mask: new Blob([bytes], { type: "image/png" }), empty: Boolean(body.empty) };
    },

    /** A stored file's bytes, fetched with the Authorization header (never a bare URL). */
    async fileBlob(path) {
      const response = await call("GET", filesUrl(path).slice(apiBase.length));
      return response.blob();
    },
  };
}
