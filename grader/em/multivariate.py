"""EM for a full-covariance Gaussian mixture in D dimensions (Bishop, PRML section 9.2.2).

Parameters are ``mu`` (K, D), ``cov`` (K, D, D) and ``pi`` (K,); data ``X``
has shape (N, D).
"""

import numpy as np

from .univariate import Array, ArrayLike, EMRun, Params, _as_params


def estimate_weighted_log_prob(X: ArrayLike, mu: Array, cov: Array, pi: Array) -> Array:
    """log(pi_k) + log N(x_n | mu_k, Sigma_k), shape (N, K), via Cholesky factors.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    mu : ndarray, shape (K, D)
        Means.
    cov : ndarray, shape (K, D, D)
        Covariances, each symmetric positive-definite (``numpy.linalg.LinAlgError`` otherwise).
    pi : ndarray, shape (K,)
        Mixing weights.

    Returns
    -------
    ndarray, shape (N, K)
        The log of each component's weighted density at each point.
    """
    X = np.asarray(X, dtype=float)
    n_features = X.shape[1]
    # all K components in one batched factorisation and solve: per-component calls cost more than the arithmetic
    chol = np.linalg.cholesky(np.asarray(cov, dtype=float))  # (K, D, D)
    centred = (X[None, :, :] - np.asarray(mu, dtype=float)[:, None, :]).transpose(0, 2, 1)  # (K, D, N)
    solved = np.linalg.solve(chol, centred)
    log_det = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)  # (K,)
    out = -0.5 * (n_features * np.log(2 * np.pi) + log_det[None, :] + (solved**2).sum(axis=1).T)
    return out + np.log(np.asarray(pi, dtype=float))


def e_step(X: ArrayLike, mu: Array, cov: Array, pi: Array) -> Array:
    """Responsibilities gamma (N, K), Bishop eq. (9.23), computed in log space.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    mu : ndarray, shape (K, D)
        Means.
    cov : ndarray, shape (K, D, D)
        Covariances.
    pi : ndarray, shape (K,)
        Mixing weights.

    Returns
    -------
    ndarray, shape (N, K)
        gamma[n, k] = p(z_n = k | x_n); each row sums to 1.
    """
    weighted = estimate_weighted_log_prob(X, mu, cov, pi)
    return np.exp(weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True))


def m_step(X: ArrayLike, gamma: Array) -> Params:
    """New (mu (K, D), cov (K, D, D), pi (K,)) from gamma (N, K), eqs. (9.24)-(9.27).

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    gamma : ndarray, shape (N, K)
        Responsibilities of the E-step.

    Returns
    -------
    mu : ndarray, shape (K, D)
    cov : ndarray, shape (K, D, D)
        Around the new means.
    pi : ndarray, shape (K,)
    """
    X = np.asarray(X, dtype=float)
    n_k = gamma.sum(axis=0)
    mu = gamma.T @ X / n_k[:, None]
    cov = np.empty((len(n_k), X.shape[1], X.shape[1]))
    for k in range(len(n_k)):
        diff = X - mu[k]
        cov[k] = (gamma[:, k, None] * diff).T @ diff / n_k[k]
    return mu, cov, n_k / len(X)


def log_likelihood(X: ArrayLike, mu: Array, cov: Array, pi: Array) -> float:
    """Total log-likelihood, Bishop eq. (9.14).

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    mu : ndarray, shape (K, D)
    cov : ndarray, shape (K, D, D)
    pi : ndarray, shape (K,)

    Returns
    -------
    float
        ln p(X | theta), summed over the points.
    """
    return float(np.logaddexp.reduce(estimate_weighted_log_prob(X, mu, cov, pi), axis=1).sum())


def fit(X: ArrayLike, mu: ArrayLike, cov: ArrayLike, pi: ArrayLike, n_iterations: int) -> EMRun:
    """Run ``n_iterations`` of EM from the given start; return an :class:`EMRun`.

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

    Returns
    -------
    EMRun
        ``n_iterations + 1`` parameter sets, ``n_iterations`` responsibilities (N, K) and log-likelihoods.
    """
    run = EMRun(params=[_as_params(mu, cov, pi)])
    for _ in range(n_iterations):
        gamma = e_step(X, *run.params[-1])
        run.gammas.append(gamma)
        run.params.append(m_step(X, gamma))
        run.log_likelihoods.append(log_likelihood(X, *run.params[-1]))
    return run
