"""The variational Bayesian Gaussian mixture in one dimension (Bishop, PRML section 10.2).

Data ``x`` (N,); K components. The prior (eqs. 10.39-10.40) is a symmetric
Dirichlet with concentration ``alpha_0`` on the weights and a Gaussian-Wishart
on each component's mean and precision, which in one dimension (D = 1) is a
Gaussian-Gamma: ``beta_0``, ``m_0``, ``W_0`` (a scalar Wishart scale: the
precision's prior mean is ``nu_0 W_0``) and ``nu_0``. The factor q(pi, mu,
Lambda) has the same form with per-component ``alpha``, ``beta``, ``m``,
``W``, ``nu`` (each of shape (K,)); q(Z) is the responsibilities ``r`` (N, K),
kept as their logarithm ``log_resp``.

The updates are written as scikit-learn's ``BayesianGaussianMixture`` with
``weight_concentration_prior_type="dirichlet_distribution"`` computes them
(sklearn/mixture/_bayesian_mixture.py), including its guard ``10 * eps`` on
every N_k, so that a switched-off component (N_k = 0) keeps finite
statistics; sklearn's ``covariance_prior`` is ``1 / W_0`` and its
``precisions_`` are ``nu W``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

#: Added to every N_k (as scikit-learn does): an empty component's mean is then 0 / eps, not 0 / 0.
N_K_GUARD = 10 * np.finfo(float).eps


@dataclass(frozen=True)
class Prior:
    """The prior: Dirichlet ``alpha_0`` (eq. 10.39), Gaussian-Wishart ``beta_0, m_0, W_0, nu_0`` (eq. 10.40)."""

    alpha_0: float
    beta_0: float
    m_0: float
    W_0: float
    nu_0: float


@dataclass(frozen=True)
class Posterior:
    """q(pi) q(mu, Lambda): Dirichlet ``alpha`` (10.57) and Gaussian-Wishart ``beta, m, W, nu`` (10.59), each (K,)."""

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray


def default_prior(x: np.ndarray, alpha_0: float) -> Prior:
    """scikit-learn's default priors for 1D ``x`` (N,): m_0 the mean, beta_0 = 1, nu_0 = D = 1, 1 / W_0 the variance.

    scikit-learn's ``covariance_prior`` is the empirical variance with ddof 1
    (``np.cov``); ``W_0`` is its inverse.
    """
    x = np.asarray(x, dtype=float)
    return Prior(alpha_0=float(alpha_0), beta_0=1.0, m_0=float(x.mean()), W_0=1.0 / float(np.var(x, ddof=1)), nu_0=1.0)


# --- q(pi): the Dirichlet factor --------------------------------------------------------------------------


def dirichlet_concentration(N_k: np.ndarray, alpha_0: float) -> np.ndarray:
    """alpha_k = alpha_0 + N_k, shape (K,): eq. (10.58)."""
    return alpha_0 + np.asarray(N_k, dtype=float)


def expected_log_weights(alpha: np.ndarray) -> np.ndarray:
    """E[ln pi_k] = psi(alpha_k) - psi(alpha_hat), alpha_hat = sum_k alpha_k, shape (K,): eq. (10.66)."""
    alpha = np.asarray(alpha, dtype=float)
    return digamma(alpha) - digamma(alpha.sum())


def expected_weights(N_k: np.ndarray, alpha_0: float) -> np.ndarray:
    """E[pi_k] = (alpha_0 + N_k) / (K alpha_0 + N), shape (K,): eq. (10.69)."""
    N_k = np.asarray(N_k, dtype=float)
    return (alpha_0 + N_k) / (len(N_k) * alpha_0 + N_k.sum())


# --- q(mu, Lambda): the Gaussian-Wishart factor, and its expectations -----------------------------------


def expected_log_precision(W: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """E[ln Lambda_k] = psi(nu_k / 2) + D ln 2 + ln W_k with D = 1, shape (K,): eq. (10.65)."""
    return digamma(np.asarray(nu, dtype=float) / 2) + np.log(2.0) + np.log(W)


def expected_quadratic(x: np.ndarray, beta: np.ndarray, m: np.ndarray, W: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """E[(x_n - mu_k)^2 Lambda_k] = D / beta_k + nu_k W_k (x_n - m_k)^2 with D = 1, shape (N, K): eq. (10.64)."""
    x = np.asarray(x, dtype=float)
    return 1.0 / beta + nu * W * (x[:, None] - m[None, :]) ** 2


def log_responsibilities(
    expected_log_pi: np.ndarray, expected_log_lambda: np.ndarray, expected_quad: np.ndarray
) -> np.ndarray:
    """ln r_nk, shape (N, K): ln rho_nk of eq. (10.46), normalised over k in log space (eq. 10.49).

    ``expected_log_pi`` (K,) from eq. (10.66), ``expected_log_lambda`` (K,)
    from eq. (10.65), ``expected_quad`` (N, K) from eq. (10.64).
    """
    log_rho = expected_log_pi + 0.5 * expected_log_lambda - 0.5 * np.log(2 * np.pi) - 0.5 * expected_quad
    return log_rho - np.logaddexp.reduce(log_rho, axis=1, keepdims=True)


def statistics(x: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N_k, xbar_k, S_k), each (K,): eqs. (10.51)-(10.53), with N_k guarded as scikit-learn does."""
    x = np.asarray(x, dtype=float)
    N_k = resp.sum(axis=0) + N_K_GUARD
    xbar = resp.T @ x / N_k
    S = np.sum(resp * (x[:, None] - xbar[None, :]) ** 2, axis=0) / N_k
    return N_k, xbar, S


def gaussian_wishart_update(
    N_k: np.ndarray, xbar: np.ndarray, S: np.ndarray, prior: Prior
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(beta, m, W, nu), each (K,): eqs. (10.60)-(10.63) in one dimension."""
    beta = prior.beta_0 + N_k
    m = (prior.beta_0 * prior.m_0 + N_k * xbar) / beta
    W_inverse = 1.0 / prior.W_0 + N_k * S + prior.beta_0 * N_k / beta * (xbar - prior.m_0) ** 2
    nu = prior.nu_0 + N_k
    return beta, m, 1.0 / W_inverse, nu


# --- the variational M- and E-steps, and the run --------------------------------------------------------


def m_step(x: np.ndarray, resp: np.ndarray, prior: Prior) -> Posterior:
    """q(pi) and q(mu, Lambda) from the responsibilities ``resp`` (N, K): eqs. (10.58), (10.60)-(10.63)."""
    N_k, xbar, S = statistics(x, resp)
    return Posterior(dirichlet_concentration(N_k, prior.alpha_0), *gaussian_wishart_update(N_k, xbar, S, prior))


def e_step(x: np.ndarray, q: Posterior) -> np.ndarray:
    """ln r (N, K) from q(pi) and q(mu, Lambda): eqs. (10.46), (10.49), (10.64)-(10.66)."""
    return log_responsibilities(
        expected_log_weights(q.alpha),
        expected_log_precision(q.W, q.nu),
        expected_quadratic(x, q.beta, q.m, q.W, q.nu),
    )


def fit(x: np.ndarray, resp_start: np.ndarray, prior: Prior, n_iterations: int) -> Posterior:
    """An M-step from ``resp_start`` (N, K), then ``n_iterations`` of (E-step, M-step), as scikit-learn's fit."""
    q = m_step(x, resp_start, prior)
    for _ in range(n_iterations):
        q = m_step(x, np.exp(e_step(x, q)), prior)
    return q


def posterior_weights(q: Posterior) -> np.ndarray:
    """E[pi_k] under q(pi) = alpha_k / alpha_hat, shape (K,): eq. (10.69)."""
    return q.alpha / q.alpha.sum()


def start_from_points(x: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """One-hot responsibilities (N, K): each point to the nearest of K distinct data points drawn with ``seed``.

    ``np.random.seed(seed); np.random.choice(x, K, replace=False)`` draws the same points.
    """
    x = np.asarray(x, dtype=float)
    points = np.random.RandomState(seed).choice(x, n_components, replace=False)
    return np.eye(n_components)[np.argmin((x[:, None] - points[None, :]) ** 2, axis=1)]
