"""Free-parameter counts and information criteria of Gaussian mixtures, in scikit-learn's conventions.

``covariance_type`` is one of scikit-learn's ``GaussianMixture`` options:
``"full"`` (K, D, D), ``"diag"`` (K, D), ``"tied"`` (D, D) shared, ``"spherical"`` (K,).
Both criteria are on the "-2 log-likelihood" scale, so lower is better.
"""

import numpy as np

COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")


def n_covariance_parameters(covariance_type, n_components, n_features):
    """Free entries of the covariance parameters; a symmetric D x D matrix has D(D+1)/2."""
    K, D = n_components, n_features
    counts = {
        "full": K * D * (D + 1) // 2,
        "diag": K * D,
        "tied": D * (D + 1) // 2,
        "spherical": K,
    }
    return counts[covariance_type]


def n_parameters(covariance_type, n_components, n_features):
    """Means (K D) + weights (K - 1, they sum to 1) + covariance parameters."""
    K, D = n_components, n_features
    return K * D + (K - 1) + n_covariance_parameters(covariance_type, K, D)


def bic(total_log_likelihood, n_params, n_samples):
    """-2 ln p(X | theta_ML) + M ln N: PRML eq. (4.139) times -2."""
    return -2 * total_log_likelihood + n_params * np.log(n_samples)


def aic(total_log_likelihood, n_params):
    """-2 ln p(X | theta_ML) + 2 M: PRML eq. (1.73) times -2."""
    return -2 * total_log_likelihood + 2 * n_params
