"""EM for a one-dimensional Gaussian mixture (Bishop, PRML section 9.2.2).

Parameters are ``mu`` (K,), ``sigma`` (K,) standard deviations and
``pi`` (K,) mixing weights; data ``x`` has shape (N,).
"""

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: A float array; its shape is in each docstring.
Array = NDArray[np.float64]
#: A mixture's parameters as the EM functions take and return them: (mu, sigma or cov, pi).
Params = tuple[Array, Array, Array]


def estimate_weighted_log_prob(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> Array:
    """log(pi_k) + log N(x_n | mu_k, sigma_k^2), shape (N, K).

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu, sigma, pi : array_like, shape (K,)
        Means, standard deviations and mixing weights.

    Returns
    -------
    ndarray, shape (N, K)
        The log of each component's weighted density at each point.
    """
    x = np.asarray(x, dtype=float)[:, None]
    mu, sigma, pi = (np.asarray(a, dtype=float)[None, :] for a in (mu, sigma, pi))
    log_pdf = -0.5 * np.log(2 * np.pi) - np.log(sigma) - 0.5 * ((x - mu) / sigma) ** 2
    return np.log(pi) + log_pdf


def e_step(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> Array:
    """Responsibilities gamma (N, K), Bishop eq. (9.23), computed in log space.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu, sigma, pi : array_like, shape (K,)
        Means, standard deviations and mixing weights.

    Returns
    -------
    ndarray, shape (N, K)
        gamma[n, k] = p(z_n = k | x_n); each row sums to 1.
    """
    weighted = estimate_weighted_log_prob(x, mu, sigma, pi)
    return np.exp(weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True))


def m_step(x: ArrayLike, gamma: Array) -> Params:
    """New (mu, sigma, pi), each (K,), from responsibilities gamma (N, K).

    Bishop eqs. (9.24)-(9.27); sigma is the square root of the weighted
    variance around the *new* mean.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    gamma : ndarray, shape (N, K)
        Responsibilities of the E-step.

    Returns
    -------
    mu, sigma, pi : ndarray, shape (K,)
        The updated means, standard deviations and mixing weights.
    """
    x = np.asarray(x, dtype=float)
    n_k = gamma.sum(axis=0)
    mu = gamma.T @ x / n_k
    variance = (gamma * (x[:, None] - mu[None, :]) ** 2).sum(axis=0) / n_k
    return mu, np.sqrt(variance), n_k / len(x)


def log_likelihood(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> float:
    """Total log-likelihood sum_n log sum_k pi_k N(x_n | mu_k, sigma_k^2), eq. (9.14).

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu, sigma, pi : array_like, shape (K,)
        Means, standard deviations and mixing weights.

    Returns
    -------
    float
        ln p(X | theta), summed over the points.
    """
    return float(np.logaddexp.reduce(estimate_weighted_log_prob(x, mu, sigma, pi), axis=1).sum())


def _as_params(mu: ArrayLike, spread: ArrayLike, pi: ArrayLike) -> Params:
    """Float copies of a start (mu, sigma or cov, pi), so a run never aliases its caller's arrays."""
    return np.array(mu, dtype=float), np.array(spread, dtype=float), np.array(pi, dtype=float)


@dataclass
class EMRun:
    """The trajectory of one EM run.

    ``params[i]`` are the parameters at the start of iteration i, ``gammas[i]``
    the responsibilities of its E-step and ``log_likelihoods[i]`` the
    log-likelihood after its M-step, so ``params`` has one more entry.
    """

    params: list[Params] = field(default_factory=list)
    gammas: list[Array] = field(default_factory=list)
    log_likelihoods: list[float] = field(default_factory=list)

    @property
    def final(self) -> Params:
        return self.params[-1]


def fit(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike, n_iterations: int) -> EMRun:
    """Run ``n_iterations`` of EM from the given start; return an :class:`EMRun`.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data.
    mu, sigma, pi : array_like, shape (K,)
        The start: means, standard deviations and mixing weights (copied, never changed).
    n_iterations : int
        E- and M-steps to run.

    Returns
    -------
    EMRun
        ``n_iterations + 1`` parameter sets, ``n_iterations`` responsibilities (N, K) and log-likelihoods.
    """
    run = EMRun(params=[_as_params(mu, sigma, pi)])
    for _ in range(n_iterations):
        gamma = e_step(x, *run.params[-1])
        run.gammas.append(gamma)
        run.params.append(m_step(x, gamma))
        run.log_likelihoods.append(log_likelihood(x, *run.params[-1]))
    return run
