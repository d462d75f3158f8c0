"""Starting points and stopping rules for EM (notebook 04).

Reference versions of what the student writes: k-means++ seeding and a
stopping rule on the per-sample gain of the log-likelihood that must hold for
several consecutive iterations.
"""

from collections.abc import Callable, Sequence

import numpy as np

from . import multivariate
from .univariate import Array, ArrayLike, EMRun, _as_params

#: ``stop(log_likelihoods, n_samples, tol, patience)``: whether EM has converged.
StoppingRule = Callable[[Sequence[float], int, float, int], bool]


def kmeans_plus_plus(X: ArrayLike, n_components: int, rng: np.random.Generator) -> Array:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): centres (K, D) drawn from the rows of X (N, D).

    The first centre is uniform; each next one is drawn with probability
    proportional to the squared distance to the nearest centre chosen so far.
    ``rng`` is a ``numpy.random.Generator``; the draws are ``rng.integers``
    then one ``rng.choice(N, p=...)`` per further centre.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    n_components : int
        K, the number of centres.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (K, D)
        Rows of X.
    """
    X = np.asarray(X, dtype=float)
    centers = [X[rng.integers(len(X))]]
    for _ in range(1, n_components):
        squared_distances = ((X[:, None, :] - np.array(centers)[None]) ** 2).sum(axis=2).min(axis=1)
        centers.append(X[rng.choice(len(X), p=squared_distances / squared_distances.sum())])
    return np.array(centers)


def has_converged(log_likelihoods: Sequence[float], n_samples: int, tol: float, patience: int) -> bool:
    """True once the per-sample gain of the log-likelihood stayed below ``tol`` for ``patience`` iterations.

    ``log_likelihoods`` holds one total log-likelihood per iteration so far;
    the gains are its successive differences divided by ``n_samples``.

    Parameters
    ----------
    log_likelihoods : sequence of float, length T
    n_samples : int
        N.
    tol : float
        The per-sample gain below which an iteration counts as converged.
    patience : int
        How many of the last T - 1 gains must be below ``tol``.

    Returns
    -------
    bool
    """
    gains = np.diff(np.asarray(log_likelihoods, dtype=float)) / n_samples
    return len(gains) >= patience and bool(np.all(gains[-patience:] < tol))


def fit_until_converged(
    X: Array,
    start: Sequence[ArrayLike],
    tol: float,
    patience: int,
    max_iter: int,
    stop: StoppingRule = has_converged,
) -> EMRun:
    """Full-covariance EM from ``start`` = (mu, cov, pi) until ``stop`` says so or ``max_iter`` iterations.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        The data.
    start : (mu (K, D), cov (K, D, D), pi (K,))
        Copied, never changed.
    tol, patience : float, int
        Passed to ``stop`` after every iteration.
    max_iter : int
    stop : callable, default :func:`has_converged`
        ``stop(log_likelihoods, N, tol, patience)``.

    Returns
    -------
    EMRun
    """
    run = EMRun(params=[_as_params(*start)])
    for _ in range(max_iter):
        gamma = multivariate.e_step(X, *run.params[-1])
        run.gammas.append(gamma)
        run.params.append(multivariate.m_step(X, gamma))
        run.log_likelihoods.append(multivariate.log_likelihood(X, *run.params[-1]))
        if stop(run.log_likelihoods, len(X), tol, patience):
            break
    return run
