"""A Gaussian mixture as a density: log density, BIC, ancestral sampling and anomaly thresholds.

Parameters are scikit-learn's ``GaussianMixture`` attributes for
``covariance_type="full"``: ``means`` (K, D), ``covariances`` (K, D, D) and
``weights`` (K,); points ``X`` have shape (N, D). Densities stay in log space
(PRML eq. 9.7 in logs), as ``GaussianMixture.score_samples`` returns them.
"""

import numpy as np

from . import model_selection, multivariate
from .univariate import Array, ArrayLike


def log_density(X: ArrayLike, means: Array, covariances: Array, weights: Array) -> Array:
    """ln p(x_n) = logsumexp_k [ln pi_k + ln N(x_n | mu_k, Sigma_k)] (eq. 9.7 in logs), shape (N,).

    Parameters
    ----------
    X : array of shape (N, D)
    means : array of shape (K, D)
    covariances : array of shape (K, D, D)
    weights : array of shape (K,)
    """
    return np.logaddexp.reduce(multivariate.estimate_weighted_log_prob(X, means, covariances, weights), axis=1)


def n_parameters(n_components: int, n_features: int) -> int:
    """Free parameters of a full-covariance mixture: K D means, K - 1 weights, K D(D+1)/2 covariance entries."""
    return model_selection.n_parameters("full", n_components, n_features)


def bic(log_likelihood: float, n_components: int, n_features: int, n_samples: int) -> float:
    """-2 ln p(X | theta) + M ln N (PRML eq. 4.139 times -2) of a full-covariance mixture, lower is better."""
    return float(model_selection.bic(log_likelihood, n_parameters(n_components, n_features), n_samples))


def sample(
    n_samples: int, means: ArrayLike, covariances: ArrayLike, weights: Array, rng: np.random.Generator
) -> tuple[Array, np.ndarray]:
    """Ancestral sampling (PRML section 8.1.2): z_n ~ Categorical(pi), then x_n ~ N(mu_{z_n}, Sigma_{z_n}).

    Returns
    -------
    samples : array of shape (n_samples, D)
    labels : int array of shape (n_samples,), the component each sample was drawn from
    """
    means, covariances = np.asarray(means, dtype=float), np.asarray(covariances, dtype=float)
    labels = rng.choice(len(weights), size=n_samples, p=weights)
    chol = np.linalg.cholesky(covariances)  # Sigma_k = L_k L_k^T, so L_k z has covariance Sigma_k
    z = rng.standard_normal((n_samples, means.shape[1]))
    return means[labels] + np.einsum("nij,nj->ni", chol[labels], z), labels


def anomalies(log_p: ArrayLike, percentile: float) -> tuple[float, np.ndarray]:
    """(threshold, flagged): the ``percentile``-th percentile of the log densities, and the points below it.

    Parameters
    ----------
    log_p : array of shape (N,), log densities ln p(x_n)
    percentile : float in [0, 100]

    Returns
    -------
    threshold : float
    flagged : bool array of shape (N,)
    """
    log_p = np.asarray(log_p, dtype=float)
    threshold = float(np.percentile(log_p, percentile))
    return threshold, log_p < threshold
