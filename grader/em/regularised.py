"""EM with a ridge on the covariances, as scikit-learn's ``reg_covar`` (notebook 05).

Adding ``reg_covar * I`` to every covariance after the M-step keeps its
smallest eigenvalue at least ``reg_covar``, so no component can collapse onto
a single point and the likelihood stays bounded (Bishop PRML section 9.2.1).
"""

import numpy as np

from . import multivariate
from .univariate import EMRun


def m_step(X, gamma, reg_covar):
    """(mu (K, D), cov (K, D, D), pi (K,)) of eqs. (9.24)-(9.26), with ``reg_covar`` added to each diagonal."""
    mu, cov, pi = multivariate.m_step(X, gamma)
    return mu, cov + reg_covar * np.eye(np.shape(X)[1]), pi


def fit(X, mu, cov, pi, n_iterations, reg_covar):
    """``n_iterations`` of regularised EM from the given start; an :class:`EMRun`."""
    run = EMRun(params=[tuple(np.array(a, dtype=float) for a in (mu, cov, pi))])
    for _ in range(n_iterations):
        gamma = multivariate.e_step(X, *run.params[-1])
        run.gammas.append(gamma)
        run.params.append(m_step(X, gamma, reg_covar))
        run.log_likelihoods.append(multivariate.log_likelihood(X, *run.params[-1]))
    return run
