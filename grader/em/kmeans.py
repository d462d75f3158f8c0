"""k-means as the small-variance limit of EM (Bishop, PRML section 9.3.2), in one dimension.

Data ``x`` (N,), means ``mu`` (K,); assignments are (N, K) matrices whose
rows sum to 1: one-hot ``r`` for k-means, soft ``gamma`` for EM.
"""

import numpy as np

from .univariate import Array, ArrayLike


def hard_assign(x: ArrayLike, mu: Array) -> Array:
    """One-hot r (N, K): each point goes to its nearest mean, eq. (9.2); ties go to the lower k.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu : ndarray, shape (K,)
        The means.

    Returns
    -------
    ndarray, shape (N, K)
        r[n, k] = 1 for the nearest mean k of point n, 0 elsewhere.
    """
    squared_distance = (np.asarray(x, dtype=float)[:, None] - np.asarray(mu, dtype=float)[None, :]) ** 2
    return np.eye(len(mu))[np.argmin(squared_distance, axis=1)]


def soft_assign(x: ArrayLike, mu: ArrayLike, variance: float, pi: ArrayLike) -> Array:
    """Responsibilities (N, K) of a mixture whose components share one fixed variance, eq. (9.42).

    Computed in log space, so they stay finite (and become one-hot) as the variance shrinks.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu : array_like, shape (K,)
        The means.
    variance : float
        The variance every component shares.
    pi : array_like, shape (K,)
        Mixing weights.

    Returns
    -------
    ndarray, shape (N, K)
        Each row sums to 1.
    """
    x, mu = np.asarray(x, dtype=float), np.asarray(mu, dtype=float)
    log_weighted = np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / (2 * variance)
    return np.exp(log_weighted - np.logaddexp.reduce(log_weighted, axis=1, keepdims=True))


def update_means(x: ArrayLike, weights: Array) -> Array:
    """sum_n w_nk x_n / sum_n w_nk, shape (K,): eq. (9.4) for one-hot w, eq. (9.24) for soft w.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    weights : ndarray, shape (N, K)
        One-hot assignments or responsibilities.

    Returns
    -------
    ndarray, shape (K,)
    """
    return weights.T @ np.asarray(x, dtype=float) / weights.sum(axis=0)


def lloyd(x: ArrayLike, mu: ArrayLike, n_iterations: int) -> Array:
    """``n_iterations`` of Lloyd's k-means (assign, then re-centre) from ``mu``; returns the means (K,).

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu : array_like, shape (K,)
        The starting means (copied).
    n_iterations : int

    Returns
    -------
    ndarray, shape (K,)
    """
    mu = np.array(mu, dtype=float)
    for _ in range(n_iterations):
        mu = update_means(x, hard_assign(x, mu))
    return mu


def em_fixed_variance(x: ArrayLike, mu: ArrayLike, variance: float, n_iterations: int) -> Array:
    """EM for the means only, with a shared fixed variance and equal weights; returns the means (K,).

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu : array_like, shape (K,)
        The starting means (copied).
    variance : float
        The variance every component shares.
    n_iterations : int

    Returns
    -------
    ndarray, shape (K,)
    """
    mu = np.array(mu, dtype=float)
    pi = np.full(len(mu), 1 / len(mu))
    for _ in range(n_iterations):
        mu = update_means(x, soft_assign(x, mu, variance, pi))
    return mu
