"""Hidden inputs shared by several specs: data sets like the notebooks', drawn from a generator.

Every draw is checked to be a well-posed EM problem from the notebook's own
starting recipe, so every correct implementation agrees on it; a spec asks
again (returns None) when a draw is not.
"""

from types import ModuleType
from typing import Any

import numpy as np

from ..em import multivariate, seed
from ..em.univariate import Params


def two_clusters_1d(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """(data, truth) of two well-separated 1D Gaussians, 150-450 points, like notebook 01's."""
    n_samples = int(rng.integers(150, 451))
    weight = rng.uniform(0.25, 0.75)
    spreads = rng.uniform(0.5, 2.0, size=2)
    first = rng.uniform(-6.0, 6.0)
    means = np.array([first, first + rng.choice([-1, 1]) * rng.uniform(3.0, 6.0) * spreads.max()])
    n_first = int(n_samples * weight)
    data = rng.permutation(
        np.concatenate(
            [rng.normal(means[0], spreads[0], n_first), rng.normal(means[1], spreads[1], n_samples - n_first)]
        )
    )
    return data, {"w_true": [weight, 1 - weight], "mu_true": means.tolist(), "sigma_true": spreads.tolist()}


def _random_covariance(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.diag(rng.uniform(0.3, 1.8, size=2)) @ rotation.T


def two_clusters_2d(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """(data, truth) of two tilted 2D Gaussian clouds, 150-450 points, like notebook 02's."""
    n_samples = int(rng.integers(150, 451))
    weight = rng.uniform(0.25, 0.75)
    first = rng.uniform(-3.0, 3.0, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    second = first + rng.uniform(3.5, 6.0) * np.array([np.cos(angle), np.sin(angle)])
    n_first = int(n_samples * weight)
    covariances = [_random_covariance(rng), _random_covariance(rng)]
    data = rng.permutation(
        np.vstack(
            [
                rng.multivariate_normal(first, covariances[0], n_first),
                rng.multivariate_normal(second, covariances[1], n_samples - n_first),
            ]
        )
    )
    return data, {"pi_true": [weight, 1 - weight], "mu_true": [first, second], "cov_true": covariances}


def start_1d(data: np.ndarray, n_components: int = 2, seed_value: int = 42) -> Params:
    """Notebook 01's start: ``np.random.seed(42)``, means drawn from the data, the data's spread, equal weights."""
    mu = np.random.RandomState(seed_value).choice(data, n_components)
    return mu, np.full(n_components, np.std(data)), np.full(n_components, 1 / n_components)


def dirichlet_start_2d(data: np.ndarray, n_components: int = 2, seed_value: int = 42) -> tuple[np.ndarray, Params]:
    """Notebook 02's start: (initial responsibilities, parameters of one M-step from them)."""
    gamma = np.random.RandomState(seed_value).dirichlet(alpha=[1] * n_components, size=len(data))
    return gamma, multivariate.m_step(data, gamma)


def well_posed(em: ModuleType, problem: seed.Problem) -> bool:
    """EM from this start stays far from degenerate fits, its log-likelihood rising: a fair hidden problem."""
    with np.errstate(all="ignore"):
        run = em.fit(problem.data, *problem.start, problem.n_iterations)
    spread_floor = 0.05 * float(np.std(problem.data))
    for mu, spread, pi in run.params:
        if not all(np.all(np.isfinite(a)) for a in (mu, spread, pi)) or np.min(pi) < 0.05:
            return False
        scales = spread if spread.ndim == 1 else np.sqrt(np.linalg.eigvalsh(spread))
        if np.min(scales) < spread_floor:
            return False
    values = np.asarray(run.log_likelihoods)
    return bool(np.all(np.isfinite(values)) and np.all(np.diff(values) >= -1e-9 * np.max(np.abs(values))))


def read_only(*arrays: object) -> None:
    """Mark arrays read-only: every submission of a class shares one hidden problem."""
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.setflags(write=False)


Problem = seed.Problem
