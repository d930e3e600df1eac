// The hover preview's pacing: one request in flight, the latest hover wins, a request only once the
// pointer has rested `delayMs`, and at most one every `minIntervalMs`. No DOM and no URLs: `fetch`, the
// clock and the timer are injected, so node's test runner drives it with fakes.
//
// Every preview is a decoder pass on the server and a request against the account's rate limit (300 a
// minute by default, shared with the clicks): a mouse sweeping across the photo must cost a few requests,
// not one per pointermove, and a hovering user at most 200 a minute.

export class HoverPreview {
  /**
   * `fetch(hover)` -> Promise of a result; `onResult(hover, result)` gets the answer for the hover still
   * wanted (never a stale one); `onError(error)` a failure (the preview just stays hidden).
   */
  constructor({
    fetch, onResult, onError = () => {}, delayMs = 120, minIntervalMs = 300, now = () => Date.now(),
    // Wrapped: a browser's setTimeout called as a method of another object throws "Illegal invocation".
    setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (timer) => clearTimeout(timer),
  }) {
    this.fetch = fetch;
    this.onResult = onResult;
    this.onError = onError;
    this.delayMs = delayMs;
    this.minIntervalMs = minIntervalMs;
    this.now = now;
    this.lastSentAt = -Infinity;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.wanted = null; // the hover to show: { key, ... }
    this.inFlight = null; // the hover being fetched
    this.timer = null;
    this.sent = 0;
  }

  /** The pointer rests on `hover` ({ key, ... }); a hover with the key already wanted changes nothing. */
  hover(hover) {
    if (this.wanted && this.wanted.key === hover.key) return;
    this.wanted = hover;
    this.timerStart(this.delayMs);
  }

  /** The pointer left (or a click was made): drop what is wanted; an answer still coming is ignored. */
  cancel() {
    this.wanted = null;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  timerStart(ms) {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.send();
    }, ms);
  }

  send() {
    const hover = this.wanted;
    if (!hover || this.inFlight) return; // in flight: its settling sends the latest hover
    const early = this.lastSentAt + this.minIntervalMs - this.now();
    if (early > 0) {
      this.timerStart(early);
      return;
    }
    this.inFlight = hover;
    this.lastSentAt = this.now();
    this.sent += 1;
    Promise.resolve()
      .then(() => this.fetch(hover))
      .then(
        (result) => {
          if (this.wanted && this.wanted.key === hover.key) this.onResult(hover, result);
        },
        (error) => this.onError(error),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.wanted && this.wanted.key !== hover.key && this.timer === null) this.send();
      });
  }
}
