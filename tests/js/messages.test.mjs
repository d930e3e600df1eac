// Errors in a person's words: no API field names or paths, and the one action that helps.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../static/editor/api.js";
import { ACTIONS, errorExplain, sizeNote, sizeRefusal } from "../../static/editor/messages.js";

function apiError(status, detail) {
  const error = new ApiError(status, detail);
  error.fromApi = true;
  return error;
}

test("the API's own detail, with its field names and paths, is never shown", () => {
  const detail = "output_variants[0].max_resolution must be an integer; input_file_path 'editor/ab/x.jpg'";
  for (const status of [400, 403, 413, 415, 500, 503, 504, 507]) {
    const { text } = errorExplain(apiError(status, detail), { step: "process" });
    assert.doesNotMatch(text, /output_variants|_path|editor\/ab|max_resolution/, `${status}: ${text}`);
    assert.match(text, /^[A-Z].*\.$/, "a sentence");
  }
});

test("a result gone after its two hours is explained and a re-run offered", () => {
  const { text, action } = errorExplain(apiError(404, "File not found: editor/x/photo-cutout.png"), { step: "result" });
  assert.match(text, /expired/);
  assert.match(text, /2 hours/);
  assert.equal(action, ACTIONS.rerun);
  assert.equal(errorExplain(apiError(404, "x"), { step: "process" }).action, ACTIONS.reupload);
});

test("being signed out keeps the work and asks to sign in again", () => {
  const mint = new ApiError(401, "Sign in first");
  mint.signedOut = true;
  const { text, action } = errorExplain(mint, { step: "process" });
  assert.equal(action, ACTIONS.signin);
  assert.match(text, /signed out/);
  assert.match(text, /still here/);
});

test("running out of credits says what to do", () => {
  const { text, action } = errorExplain(apiError(402, "Not enough credits: 0.00 left, 1.00 needed."));
  assert.match(text, /run out of credits/);
  assert.match(text, /administrator/);
  assert.equal(action, ACTIONS.retry);
});

test("our own sentences are shown as they are, and a network failure can be retried", () => {
  const offline = new ApiError(0, "Could not reach the server. Check your connection and try again.");
  assert.deepEqual(errorExplain(offline), { text: offline.message, action: ACTIONS.retry });
});

test("a file over the limit is refused before upload with its size and the limit", () => {
  const text = sizeRefusal({ name: "big.jpg", size: 55 * 2 ** 20 }, 50 * 2 ** 20);
  assert.match(text, /“big\.jpg” is 55 MB/);
  assert.match(text, /50 MB/);
  assert.equal(sizeRefusal({ name: "ok.jpg", size: 10 }, 50 * 2 ** 20), null);
});

test("a photo over 25 MP is told that full-size outputs are scaled down", () => {
  assert.match(sizeNote({ width: 8000, height: 6000 }, 25_000_000), /48 MP.*25 MP/);
  assert.equal(sizeNote({ width: 4000, height: 3000 }, 25_000_000), "");
});
