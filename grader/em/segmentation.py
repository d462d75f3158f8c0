"""Colour quantisation and image segmentation with k-means and a Gaussian mixture (Bishop, PRML section 9.1.1).

An image of ``height`` x ``width`` pixels is a point cloud ``X`` (N, 3) in RGB
colour space, N = height * width, rows in the image's row-major order and
colours scaled to [0, 1]. ``centres`` (K, 3) are k-means' cluster centres,
``labels`` (N,) each pixel's cluster index. A Gaussian mixture has
``weights`` (K,), ``means`` (K, 3) and ``covariances`` (K, 3, 3), as
scikit-learn's ``GaussianMixture`` stores them with ``covariance_type="full"``.
"""

import math

import numpy as np

from .univariate import Array, ArrayLike

#: Bits of one raw pixel, and of one stored centre: 8 bits for each of red, green and blue.
BITS_PER_COLOUR = 24


def squared_distances(X: ArrayLike, centres: ArrayLike) -> Array:
    """||x_n - mu_k||^2 for every pixel and centre, shape (N, K): the terms of eq. (9.1)."""
    X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def assign(X: ArrayLike, centres: ArrayLike) -> np.ndarray:
    """Index of each pixel's nearest centre, shape (N,): the one-hot r_nk of eq. (9.2); ties go to the lower k."""
    return np.argmin(squared_distances(X, centres), axis=1)


def distortion(X: ArrayLike, centres: ArrayLike, labels: ArrayLike) -> float:
    """J = sum_n ||x_n - mu_{labels[n]}||^2, eq. (9.1) with r_nk = 1 exactly for k = labels[n]."""
    X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
    return float(np.sum((X - centres[np.asarray(labels)]) ** 2))


def update_centres(X: ArrayLike, labels: np.ndarray, centres: ArrayLike) -> Array:
    """The mean of each cluster's pixels, eq. (9.4), shape (K, 3); a cluster left empty keeps its centre."""
    X = np.asarray(X, dtype=float)
    new = np.array(centres, dtype=float)
    counts = np.bincount(labels, minlength=len(new))
    sums = np.zeros_like(new)
    np.add.at(sums, labels, X)
    filled = counts > 0
    new[filled] = sums[filled] / counts[filled, None]
    return new


def lloyd(X: ArrayLike, centres: ArrayLike, n_iterations: int) -> tuple[Array, np.ndarray, Array]:
    """``n_iterations`` of Lloyd's k-means (assign, eq. 9.2, then re-centre, eq. 9.4) from ``centres``.

    Returns (centres (K, 3), labels (N,) of the final assignment, distortions
    (n_iterations,) J after each assignment step).
    """
    centres = np.array(centres, dtype=float)
    distortions: list[float] = []
    for _ in range(n_iterations):
        labels = assign(X, centres)
        distortions.append(distortion(X, centres, labels))
        centres = update_centres(X, labels, centres)
    return centres, assign(X, centres), np.array(distortions)


def quantised_image(centres: ArrayLike, labels: ArrayLike, height: int, width: int) -> Array:
    """Every pixel replaced by its centre's colour, shape (height, width, 3): the image of PRML Fig. 9.3."""
    centres = np.asarray(centres, dtype=float)
    return centres[np.asarray(labels)].reshape(height, width, centres.shape[1])


def raw_bits(n_pixels: int) -> int:
    """Bits of the raw image: 24 for each of the N pixels (PRML section 9.1.1)."""
    return BITS_PER_COLOUR * n_pixels


def compressed_bits(n_pixels: int, n_components: int) -> int:
    """Bits of the quantised image: ceil(log2 K) per pixel for its label, and 24 for each of the K centres."""
    return n_pixels * math.ceil(math.log2(n_components)) + BITS_PER_COLOUR * n_components


def compression_ratio(n_pixels: int, n_components: int) -> float:
    """compressed_bits / raw_bits: the fraction of the raw image's size the quantised image takes."""
    return compressed_bits(n_pixels, n_components) / raw_bits(n_pixels)


def estimate_log_gaussian_prob(X: ArrayLike, means: Array, covariances: Array) -> Array:
    """ln N(x_n | mu_k, Sigma_k) for every pixel and component, shape (N, K), via Cholesky factors."""
    X = np.asarray(X, dtype=float)
    n_features = X.shape[1]
    out = np.empty((len(X), len(means)))
    for k, (mean, covariance) in enumerate(zip(means, covariances)):
        chol = np.linalg.cholesky(np.asarray(covariance, dtype=float))
        solved = np.linalg.solve(chol, (X - mean).T)
        log_det = 2 * np.log(np.diag(chol)).sum()
        out[:, k] = -0.5 * (n_features * np.log(2 * np.pi) + log_det + (solved**2).sum(axis=0))
    return out


def log_responsibilities(X: ArrayLike, weights: ArrayLike, means: Array, covariances: Array) -> Array:
    """ln gamma(z_nk), eq. (9.23) in log space, shape (N, K): finite even where every density underflows."""
    weighted = np.log(np.asarray(weights, dtype=float)) + estimate_log_gaussian_prob(X, means, covariances)
    return weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True)


def segment(X: ArrayLike, weights: ArrayLike, means: Array, covariances: Array) -> np.ndarray:
    """Each pixel's most responsible component, shape (N,): the mixture's hard segmentation."""
    return np.argmax(log_responsibilities(X, weights, means, covariances), axis=1)
