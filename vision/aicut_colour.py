"""Whether GrabCut's colour models can tell foreground from background, read from OpenCV's own GMMs.

Why this matters: GrabCut's graph gives each undecided pixel a terminal link equal to the difference of
its log-likelihoods under the two colour models. When the models are alike (a flat image, noise, two
colours spread evenly over both sides) those links vanish, and the graph cut degenerates into a
minimum cut between the click disks through a near-uniform grid. Boykov-Kolmogorov max-flow is
pathologically slow on that graph: a flat 200x200 image took 28 s for one iteration, binary noise at
400x400 over 100 s. Colour cannot decide anything there anyway, so GrabCut is skipped.
"""
from __future__ import annotations

import numpy as np

GMM_COMPONENTS = 5  # OpenCV's grabCut model layout: 5 weights, 5x3 means, 5x3x3 covariances
# A pixel whose colour is e² (7.4) times as likely under one model as under the other counts as decided.
DECIDED_LOG_RATIO = 2.0
# Measured at 400 px: flat, uniform-noise and two-colour images decide no pixel at all (0.0%); photos of
# the GrabCut set decide 29-99% even with the labels inverted, and a blue square and a red disk on grey
# (tests/vision/test_aicut.py's scene, where the grey sits in both models) 21%. 5% sits well between.
DECIDED_FRACTION = 0.05


def gmm_log_likelihood(model: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Log-density of float64 Nx3 `pixels` under an OpenCV grabCut GMM (the 1x65 model array)."""
    flat = np.asarray(model, np.float64).reshape(-1)
    weights = flat[:GMM_COMPONENTS]
    means = flat[GMM_COMPONENTS:4 * GMM_COMPONENTS].reshape(GMM_COMPONENTS, 3)
    covariances = flat[4 * GMM_COMPONENTS:].reshape(GMM_COMPONENTS, 3, 3)
    density = np.zeros(len(pixels))
    for weight, mean, covariance in zip(weights, means, covariances):
        determinant = np.linalg.det(covariance)
        if weight <= 0 or determinant <= 0:
            continue
        offset = pixels - mean
        distance = np.einsum("ni,ij,nj->n", offset, np.linalg.inv(covariance), offset)
        density += weight * np.exp(-0.5 * distance) / np.sqrt((2 * np.pi) ** 3 * determinant)
    return np.log(density + 1e-300)


def colour_models_decide(*, image: np.ndarray, foreground_model: np.ndarray, background_model: np.ndarray) -> bool:
    """True when the two GMMs give a clear preference for at least DECIDED_FRACTION of the pixels."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    ratio = gmm_log_likelihood(foreground_model, pixels) - gmm_log_likelihood(background_model, pixels)
    return float(np.mean(np.abs(ratio) > DECIDED_LOG_RATIO)) >= DECIDED_FRACTION
