"""EM with a ridge on the covariances, as scikit-learn's ``reg_covar`` (notebook 05).

Adding ``reg_covar * I`` to every covariance after the M-step keeps its
smallest eigenvalue at least ``reg_covar``, so no component can collapse onto
a single point and the likelihood stays bounded (Bishop PRML section 9.2.1).
"""

import numpy as np

from . import multivariate
from .univariate import Array, ArrayLike, EMRun, Params, _as_params


def m_step(X: ArrayLike, gamma: Array, reg_covar: float) -> Params:
    """(mu (K, D), cov (K, D, D), pi (K,)) of eqs. (9.24)-(9.26), with ``reg_covar`` added to each diagonal.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    gamma : ndarray, shape (N, K)
        Responsibilities of the E-step.
    reg_covar : float
        The ridge: each covariance gets ``reg_covar * I`` added.

    Returns
    -------
    mu : ndarray, shape (K, D)
    cov : ndarray, shape (K, D, D)
        Smallest eigenvalue at least ``reg_covar``.
    pi : ndarray, shape (K,)
    """
    mu, cov, pi = multivariate.m_step(X, gamma)
    return mu, cov + reg_covar * np.eye(np.shape(X)[1]), pi


def fit(X: ArrayLike, mu: ArrayLike, cov: ArrayLike, pi: ArrayLike, n_iterations: int, reg_covar: float) -> EMRun:
    """``n_iterations`` of regularised EM from the given start; an :class:`EMRun`.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    mu : array_like, shape (K, D)
    cov : array_like, shape (K, D, D)
    pi : array_like, shape (K,)
        The start (copied, never changed).
    n_iterations : int
        E- and M-steps to run.
    reg_covar : float
        The ridge of every M-step (:func:`m_step`).

    Returns
    -------
    EMRun
    """
    run = EMRun(params=[_as_params(mu, cov, pi)])
    for _ in range(n_iterations):
        gamma = multivariate.e_step(X, *run.params[-1])
        run.gammas.append(gamma)
        run.params.append(m_step(X, gamma, reg_covar))
        run.log_likelihoods.append(multivariate.log_likelihood(X, *run.params[-1]))
    return run


def collapse_start(X: ArrayLike) -> Params:
    """Notebook 05's start (mu (3, D), cov (3, D, D), pi (3,)): two broad components and a narrow third one
    on the point farthest from the mean, which EM shrinks onto that single point.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.

    Returns
    -------
    mu : ndarray, shape (3, D)
    cov : ndarray, shape (3, D, D)
    pi : ndarray, shape (3,)
    """
    X = np.asarray(X, dtype=float)
    farthest = X[np.argmax(np.linalg.norm(X - X.mean(axis=0), axis=1))]
    n_features = X.shape[1]
    mu = np.array([np.zeros(n_features), np.full(n_features, 4.0), farthest])
    cov = np.array([np.eye(n_features), np.eye(n_features), 0.05 * np.eye(n_features)])
    return mu, cov, np.array([0.45, 0.45, 0.1])
