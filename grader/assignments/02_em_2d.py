"""02_em_2d: full-covariance EM in 2D from random (Dirichlet) responsibilities."""

import numpy as np

from grader.assignments import Assignment, Inputs, both, draws
from grader.checks import em2d
from grader.em import multivariate, seed

TRUTH = {"pi_true": [0.7, 0.3], "mu_true": [np.array([0, 0]), np.array([4, 4])],
         "cov_true": [np.array([[1, 0.5], [0.5, 1]]), np.array([[1, -0.3], [-0.3, 1]])]}


def inputs(problem, truth):
    """What the data cell defines, for ``problem``'s data; the init cell's Dirichlet start follows from it."""
    n_samples = len(problem.data)
    first = int(n_samples * truth["pi_true"][0])
    variables = {"data": problem.data, "n_samples": n_samples, "n1": first, "n2": n_samples - first,
                 "K": problem.n_components, **truth}
    return Inputs("data", variables, problem)


def notebook():
    return inputs(seed.problem_2d(), TRUTH)


def hidden(rng):
    """Other data (size, means, covariances, weights), the notebook's own Dirichlet start on it."""
    data, truth = draws.two_clusters_2d(rng)
    _, start = draws.dirichlet_start_2d(data)
    problem = seed.Problem(data, start, seed.problem_2d().n_iterations)
    return inputs(problem, truth) if draws.well_posed(multivariate, problem) else None


ASSIGNMENT = Assignment(
    id="02_em_2d",
    grades={"test_estep": both(em2d.check_estep), "test_mu": both(em2d.check_mu), "test_cov": both(em2d.check_cov),
            "test_pi": both(em2d.check_pi), "test_loglik": both(em2d.check_log_likelihood),
            "test_history": both(em2d.check_history), "test_convergence": both(em2d.check_convergence)},
    notebook=notebook,
    hidden=hidden,
    hidden_view=em2d.finite_prefix,
    skip=("em-slider",),
    preload=("grader.checks.em2d",),
    blank_hints={
        "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
        "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
        "cov[k]": "the responsibility-weighted covariance around the new mu[k] (eq. 9.25)",
        "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
        "log_likelihood": "sum over points of log sum over k of pi_k N(x_n | component k) (eq. 9.14)",
    },
)
