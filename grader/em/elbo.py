"""The evidence lower bound of a one-dimensional Gaussian mixture (Bishop, PRML section 9.4).

``q`` (N, K) is any distribution over each point's component (rows sum to 1,
entries may be 0); parameters are as in :mod:`.univariate`.
"""

import numpy as np
from scipy.special import xlogy

from .univariate import Array, ArrayLike, estimate_weighted_log_prob


def log_posterior(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> Array:
    """ln p(z_n = k | x_n, theta), shape (N, K): the log of the responsibilities (9.23).

    Parameters
    ----------
    x : array_like, shape (N,)
    mu, sigma, pi : array_like, shape (K,)

    Returns
    -------
    ndarray, shape (N, K)
    """
    weighted = estimate_weighted_log_prob(x, mu, sigma, pi)
    return weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True)


def elbo(x: ArrayLike, q: Array, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> float:
    """L(q, theta) = sum_nk q_nk (ln p(x_n, z_n = k | theta) - ln q_nk), eq. (9.71); 0 ln 0 = 0.

    Parameters
    ----------
    x : array_like, shape (N,)
    q : ndarray, shape (N, K)
        Rows sum to 1; entries may be 0.
    mu, sigma, pi : array_like, shape (K,)

    Returns
    -------
    float
    """
    return float(np.sum(q * estimate_weighted_log_prob(x, mu, sigma, pi)) - np.sum(xlogy(q, q)))


def kl_divergence(x: ArrayLike, q: Array, mu: ArrayLike, sigma: ArrayLike, pi: ArrayLike) -> float:
    """KL(q || p(Z | X, theta)) = sum_nk q_nk (ln q_nk - ln p(z_n = k | x_n, theta)), eq. (9.72).

    Parameters
    ----------
    x : array_like, shape (N,)
    q : ndarray, shape (N, K)
        Rows sum to 1; entries may be 0.
    mu, sigma, pi : array_like, shape (K,)

    Returns
    -------
    float
        >= 0, and 0 exactly when q is the posterior.
    """
    return float(np.sum(xlogy(q, q)) - np.sum(q * log_posterior(x, mu, sigma, pi)))
