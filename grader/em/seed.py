"""The seed notebook's two problems: data, starting values and iteration counts.

Notebooks 01 and 02 generate exactly these with NumPy's legacy global seeding;
a ``RandomState`` with the same seed draws the same numbers, so the grader can
rebuild the problem without running the notebook.
"""

from dataclasses import dataclass

import numpy as np

from .univariate import Array, Params


@dataclass(frozen=True)
class Problem:
    """Data plus starting parameters for EM: ``start`` is (mu, sigma|cov, pi)."""

    data: Array
    start: Params
    n_iterations: int

    @property
    def n_components(self) -> int:
        return len(self.start[-1])


def problem_1d() -> Problem:
    """Seed part 1: 210 + 90 samples from N(0, 1) and N(5, 1); 20 iterations."""
    rng = np.random.RandomState(100)
    n_first = int(300 * 0.7)
    data = np.concatenate([rng.normal(0, 1, n_first), rng.normal(5, 1, 300 - n_first)])
    mu = np.random.RandomState(42).choice(data, 2)
    sigma = np.full(2, np.std(data))
    pi = np.full(2, 1 / 2)
    return Problem(data, (mu, sigma, pi), n_iterations=20)


def problem_2d() -> Problem:
    """Seed part 2: 210 + 90 correlated 2D samples, Dirichlet start; 40 iterations."""
    rng = np.random.RandomState(1)
    n_first = int(300 * 0.7)
    data = np.vstack(
        [
            rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], n_first),
            rng.multivariate_normal([4, 4], [[1, -0.3], [-0.3, 1]], 300 - n_first),
        ]
    )
    gamma = np.random.RandomState(42).dirichlet(alpha=[1, 1], size=len(data))
    from .multivariate import m_step

    return Problem(data, m_step(data, gamma), n_iterations=40)
