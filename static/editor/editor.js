// Editor state: the AI Cut points, their undo/redo history and the one request in flight.
// No DOM and no URLs: `segment` is injected, so node's test runner drives this with fakes.

/** A click: image-pixel coordinates and whether it marks foreground (true) or background. */
export function pointCreate({ x, y, positive }) {
  return Object.freeze({ x: Math.round(x), y: Math.round(y), positive: Boolean(positive) });
}

/** A stable key for a point list, so a state reached again (by undo) reuses its result. */
export function pointsKey(points) {
  return points.map((p) => `${p.positive ? "+" : "-"}${p.x},${p.y}`).join(" ");
}

/** The v3 body fields for a point list. */
export function pointsRequest(points) {
  const xy = ({ x, y }) => ({ x, y });
  return {
    foreground_points: points.filter((p) => p.positive).map(xy),
    background_points: points.filter((p) => !p.positive).map(xy),
  };
}

/**
 * One AI Cut session on one image.
 *
 * At most one `segment` call runs at a time. Clicks made while it runs only change `points`;
 * when it settles, the next call carries every point made so far. Each call gets the next
 * version number (1, 2, ...) so outputs never overwrite each other.
 */
export class CutSession {
  constructor({ segment, onChange = () => {} }) {
    this.segment = segment;
    this.onChange = onChange;
    this.points = [];
    this.past = [];
    this.future = [];
    this.version = 0;
    this.inFlight = null; // the points of the running call, or null
    this.results = new Map(); // pointsKey -> { outputPath, version }
    this.shown = null; // the result on screen: { key, outputPath, empty, version, points }
    this.error = null;
    this.failedKey = null;
    this.idleWaiters = [];
  }

  get busy() {
    return this.inFlight !== null;
  }

  /** True when the result on screen matches the points on screen. */
  get current() {
    const key = pointsKey(this.points);
    return this.shown ? this.shown.key === key : !this.points.some((p) => p.positive);
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }

  add(point) {
    this.past.push(this.points);
    this.points = [...this.points, pointCreate(point)];
    this.future = [];
    this.changed();
  }

  undo() {
    if (!this.past.length) return false;
    this.future.push(this.points);
    this.points = this.past.pop();
    this.changed();
    return true;
  }

  redo() {
    if (!this.future.length) return false;
    this.past.push(this.points);
    this.points = this.future.pop();
    this.changed();
    return true;
  }

  /** Remove every point; undo brings them back. */
  clear() {
    if (!this.points.length) return false;
    this.past.push(this.points);
    this.points = [];
    this.future = [];
    this.changed();
    return true;
  }

  /** Resolves once no call runs and none is owed. */
  whenIdle() {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Try again after an error, with the same points. */
  retry() {
    this.failedKey = null;
    this.error = null;
    this.pump();
  }

  changed() {
    this.error = null;
    this.pump();
    this.onChange(this);
  }

  pump() {
    if (this.busy) return; // buffered: the running call pumps again when it settles
    const points = this.points;
    const key = pointsKey(points);
    if (!points.some((p) => p.positive)) {
      // Nothing to select yet (no points, or background points only): show no selection.
      this.shown = null;
      this.settle();
      return;
    }
    const cached = this.results.get(key);
    if (cached) {
      this.shown = { key, points, ...cached };
      this.settle();
      return;
    }
    if (key === this.failedKey) {
      this.settle();
      return;
    }
    this.version += 1;
    const version = this.version;
    this.inFlight = points;
    this.onChange(this);
    Promise.resolve()
      .then(() => this.segment({ points, version }))
      .then(
        ({ outputPath, empty = false }) => {
          const result = { outputPath, empty, version };
          this.results.set(key, result);
          this.shown = { key, points, ...result };
          this.error = null;
          this.failedKey = null;
        },
        (error) => {
          this.error = error;
          this.failedKey = key;
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.pump();
        this.onChange(this);
      });
  }

  settle() {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
}
