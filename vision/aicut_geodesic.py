"""Geodesic distances on an image grid: path cost grows with colour change, so regions stop at edges."""
from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


def grid_graph(
    *, lab: np.ndarray, step_cost: float = 0.05, jump: np.ndarray | None = None, jump_cost: float = 0.0
) -> csr_matrix:
    """An 8-connected graph over an HxWx3 Lab image; an edge costs its colour change in units of the median change.

    `jump` (HxW in 0..1, e.g. a prior) adds `jump_cost` times its change, so crossing its edges is expensive.
    """
    height, width = lab.shape[:2]
    index = np.arange(height * width).reshape(height, width)
    rows, cols, costs = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ya = slice(0, height - dy)
        xa = slice(max(0, -dx), width - max(0, dx))
        yb = slice(dy, height)
        xb = slice(max(0, dx), width + min(0, dx) if dx < 0 else width)
        a = index[ya, xa]
        b = index[yb, xb]
        diff = np.linalg.norm(lab[ya, xa] - lab[yb, xb], axis=-1)
        length = np.hypot(dy, dx)
        rows.append(a.ravel())
        cols.append(b.ravel())
        step = np.abs(jump[ya, xa] - jump[yb, xb]).ravel() * jump_cost if jump is not None else 0.0
        costs.append((diff.ravel(), length, step))
    scale = float(np.median(np.concatenate([c[0] for c in costs]))) + 1.0
    weights = [(c / scale + step_cost) * length + step for c, length, step in costs]
    rows_all = np.concatenate(rows + cols)
    cols_all = np.concatenate(cols + rows)
    weights_all = np.concatenate(weights + weights).astype(np.float32) + 1e-6
    n = height * width
    return csr_matrix((weights_all, (rows_all, cols_all)), shape=(n, n))


def geodesic_distance(
    *, graph: csr_matrix, shape: tuple[int, int], x: int, y: int, limit: float = np.inf
) -> np.ndarray:
    """Geodesic distance from pixel (x, y) to every pixel (HxW float32); beyond `limit` it is `limit`."""
    height, width = shape
    source = int(np.clip(y, 0, height - 1)) * width + int(np.clip(x, 0, width - 1))
    dist = dijkstra(graph, directed=True, indices=source, limit=limit)
    return np.minimum(dist, limit).reshape(height, width).astype(np.float32)
