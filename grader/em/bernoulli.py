"""EM for a mixture of Bernoulli distributions on binary images (Bishop, PRML section 9.3.3).

Images ``X`` (N, D) hold 0s and 1s; component means ``mu`` (K, D) hold the
probability that each pixel is 1; weights ``pi`` (K,) sum to 1. The E-step
works in log space, as scikit-learn's ``sklearn/mixture`` does: a product of
D pixel probabilities underflows for wide images.
"""

import functools

import numpy as np

from .univariate import Array, ArrayLike

#: Means are clipped to [EPS, 1 - EPS] before their logarithms are taken: the M-step gives a pixel that is 0
#: in every image of a component the mean 0 exactly, and numpy's 0 * ln 0 is NaN, not the 0 of the convention.
EPS = 1e-10
#: A pixel of scikit-learn's 8x8 digits (values 0 to 16) is 1 when its value exceeds this: half of the range.
THRESHOLD = 7


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data, digits.target


def binary_digits(classes: ArrayLike, threshold: float = THRESHOLD) -> tuple[Array, np.ndarray]:
    """(X (N, 64) of 0.0 and 1.0, labels (N,)): scikit-learn's bundled digits of ``classes``, in their order."""
    images, target = _digits()
    keep = np.isin(target, classes)
    return (images[keep] > threshold).astype(float), target[keep]


def clip_means(mu: ArrayLike) -> Array:
    """``mu`` clipped to [EPS, 1 - EPS], so that ln mu and ln(1 - mu) are finite."""
    return np.clip(np.asarray(mu, dtype=float), EPS, 1 - EPS)


def log_bernoulli(X: ArrayLike, mu: ArrayLike) -> Array:
    """ln p(x_n | mu_k) = sum_d x_nd ln mu_kd + (1 - x_nd) ln(1 - mu_kd), shape (N, K): the log of eq. (9.48)."""
    X, mu = np.asarray(X, dtype=float), clip_means(mu)
    return X @ np.log(mu).T + (1 - X) @ np.log(1 - mu).T


def estimate_weighted_log_prob(X: ArrayLike, mu: ArrayLike, pi: ArrayLike) -> Array:
    """ln pi_k + ln p(x_n | mu_k), shape (N, K)."""
    return np.log(pi) + log_bernoulli(X, mu)


def responsibilities(log_p: ArrayLike, pi: ArrayLike) -> Array:
    """gamma(z_nk) from ln p(x_n | mu_k) (N, K) and pi (K,), shape (N, K): eq. (9.56), normalised in log space."""
    weighted = np.log(pi) + np.asarray(log_p, dtype=float)
    return np.exp(weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True))


def m_step(X: ArrayLike, gamma: ArrayLike) -> tuple[Array, Array]:
    """(mu (K, D), pi (K,)): mu_k = sum_n gamma_nk x_n / N_k (eqs. 9.58-9.59), pi_k = N_k / N (eq. 9.60)."""
    X, gamma = np.asarray(X, dtype=float), np.asarray(gamma, dtype=float)
    n_k = gamma.sum(axis=0)
    return gamma.T @ X / n_k[:, None], n_k / len(X)


def log_likelihood(X: ArrayLike, mu: ArrayLike, pi: ArrayLike) -> float:
    """ln p(X | mu, pi) = sum_n ln sum_k pi_k p(x_n | mu_k), eq. (9.51), one number."""
    return float(np.logaddexp.reduce(estimate_weighted_log_prob(X, mu, pi), axis=1).sum())


def fit(X: ArrayLike, mu: ArrayLike, pi: ArrayLike, n_iterations: int) -> tuple[Array, Array, Array]:
    """EM from (mu, pi): the (mu, pi) after each iteration and the log-likelihood (9.51) before each and at the end.

    Returns ``(means, weights, log_likelihoods)`` with shapes (n_iterations, K, D),
    (n_iterations, K) and (n_iterations + 1,).
    """
    mu, pi = np.array(mu, dtype=float), np.array(pi, dtype=float)
    means: list[Array] = []
    weights: list[Array] = []
    log_likelihoods = [log_likelihood(X, mu, pi)]
    for _ in range(n_iterations):
        mu, pi = m_step(X, responsibilities(log_bernoulli(X, mu), pi))
        means.append(mu)
        weights.append(pi)
        log_likelihoods.append(log_likelihood(X, mu, pi))
    return np.array(means), np.array(weights), np.array(log_likelihoods)
