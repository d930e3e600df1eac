// Every error a person reads, in one place: API errors (status, and where it happened) become a
// sentence and the one action that helps. The API's own `detail` names fields and paths, so it is
// never shown; our own sentences (no `fromApi`) are. Pure.

/** The actions the alert bar offers: what each does is main.js's business. */
export const ACTIONS = Object.freeze({
  retry: "retry", // try the same thing again
  reupload: "reupload", // the uploaded image expired: upload the same file again
  rerun: "rerun", // the results expired: run remove-bg again (uploading again first if needed)
  signin: "signin", // signed out: sign in in a new tab, then continue
});

const STEP_WORDS = {
  upload: "upload the image",
  process: "remove the background",
  render: "render the new background",
  result: "load the results",
  download: "download the file",
  aicut: "update the AI Cut selection",
  start: "start the editor",
};

/**
 * `error` (api.js ApiError or any Error) met during `step` (a STEP_WORDS key) -> { text, action }.
 * `action` is one of ACTIONS or null.
 */
export function errorExplain(error, { step = "" } = {}) {
  const status = Number(error?.status ?? 0);
  const doing = STEP_WORDS[step] ?? "finish that";
  if (error?.signedOut || (status === 401 && error?.fromApi)) {
    return {
      text: "You have been signed out, perhaps in another tab. Your image and settings are still here: " +
        "sign in again in the new tab, then come back and choose Continue.",
      action: ACTIONS.signin,
    };
  }
  if (status === 402) {
    return {
      text: "Your account has run out of credits. Ask your administrator to add credits to it, then choose " +
        "Try again: your image and settings stay here.",
      action: ACTIONS.retry,
    };
  }
  if (status === 404) {
    if (step === "result" || step === "download") {
      return {
        text: "These results have expired: finished files are kept for 2 hours. Run it again to get them back.",
        action: ACTIONS.rerun,
      };
    }
    return {
      text: "Your uploaded image has expired on the server (files are kept for 2 hours). Upload it again to continue.",
      action: ACTIONS.reupload,
    };
  }
  if (error?.message && !error.fromApi) {
    // Our own sentences: a network failure, a refused file, the embedding page's answer.
    const retryable = !error.cancelled && (!status || status >= 500 || status === 429 || status === 408);
    return { text: error.message, action: retryable ? ACTIONS.retry : null };
  }
  if (status === 413) return { text: "The image is too large for the server. Use a smaller photo.", action: null };
  if (status === 415) {
    return { text: "The server could not read this image. Use a JPEG, PNG, WebP or AVIF photo.", action: null };
  }
  if (status === 400) {
    return { text: `The server could not ${doing} with these settings. Choose other output settings and try again.`, action: null };
  }
  if (status === 403) {
    return { text: `This editor is not allowed to ${doing}. Reload the page; if it happens again, ask your administrator.`, action: null };
  }
  if (status === 429 || status === 503) {
    return { text: `The server is busy, so it could not ${doing}. Wait a moment and try again.`, action: ACTIONS.retry };
  }
  if (status === 504) {
    return { text: "That took the server too long. Try a smaller output size or a lower AI quality.", action: ACTIONS.retry };
  }
  if (status === 507) {
    return { text: "The storage space of your account is full. Delete some files, or wait for old ones to expire.", action: null };
  }
  if (status >= 500) return { text: `The server had a problem and could not ${doing}. Try again.`, action: ACTIONS.retry };
  return { text: `Something went wrong and the editor could not ${doing}. Try again.`, action: ACTIONS.retry };
}

/** "“x.jpg” is 55 MB; …" when `file` is over `maxBytes`, else null: checked before any upload. */
export function sizeRefusal(file, maxBytes) {
  if (!maxBytes || file.size <= maxBytes) return null;
  const mb = (bytes) => `${Math.round((bytes / 2 ** 20) * 10) / 10} MB`;
  return `“${file.name}” is ${mb(file.size)}, and the largest image this editor accepts is ${mb(maxBytes)}. ` +
    "Save it as a JPEG or at a smaller size, then choose it again.";
}

/** A note when the photo is larger than the API's output limit, else "". */
export function sizeNote({ width, height }, maxPixels) {
  const pixels = width * height;
  if (!pixels || pixels <= maxPixels) return "";
  const mp = (n) => `${Math.round(n / 1e5) / 10} MP`;
  return `This photo is ${mp(pixels)}: full-size outputs are scaled down to ${mp(maxPixels)}, the largest the service makes.`;
}
