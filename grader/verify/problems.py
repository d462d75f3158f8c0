"""Hidden EM problems: other data and starting values than the notebooks', drawn from a course secret.

A student who types in the numbers the seed notebook ends with, or whose
code only works on the seed's data, passes on the seed problem and fails on
these. They are derived from the secret and the assignment id alone, so
every grading run (and every Dask worker) rebuilds the same problem, and
nothing about them is stored in the release.
"""

import functools
import hashlib
import hmac
import os
import secrets as token_source
from pathlib import Path

import numpy as np

from ..em import multivariate, seed, univariate

SECRET_FILE = ".grader-secret"
SECRET_ENV = "GRADER_SECRET"
#: Draws tried before giving up; every accepted draw is checked to be a well-posed EM run.
ATTEMPTS = 50


def course_secret(course_root):
    """The grading secret: ``$GRADER_SECRET``, else ``<course root>/.grader-secret`` (created on first use)."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = Path(course_root) / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token_source.token_hex(32) + "\n")
    return path.read_text().strip()


def _generator(secret, assignment_id):
    digest = hmac.new(secret.encode(), f"hidden-problem:{assignment_id}".encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _well_posed(em, problem):
    """EM from this start stays far from degenerate fits, so every correct implementation agrees on it."""
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


def _draw_1d(rng, n_iterations):
    n_samples = int(rng.integers(150, 451))
    weight = rng.uniform(0.25, 0.75)
    spreads = rng.uniform(0.5, 2.0, size=2)
    first = rng.uniform(-6.0, 6.0)
    means = np.array([first, first + rng.choice([-1, 1]) * rng.uniform(3.0, 6.0) * spreads.max()])
    n_first = int(n_samples * weight)
    data = rng.permutation(np.concatenate([rng.normal(means[0], spreads[0], n_first),
                                           rng.normal(means[1], spreads[1], n_samples - n_first)]))
    mu = rng.choice(data, 2, replace=False)
    if abs(mu[0] - mu[1]) < 0.1 * np.std(data):
        return None  # two nearly equal starting means: EM would keep the components together
    sigma = np.full(2, np.std(data) * rng.uniform(0.6, 1.4))
    start_weight = rng.uniform(0.3, 0.7)
    pi = np.array([start_weight, 1 - start_weight])
    truth = {"w_true": [weight, 1 - weight], "mu_true": means.tolist(), "sigma_true": spreads.tolist()}
    return seed.Problem(data, (mu, sigma, pi), n_iterations), None, truth


def _random_covariance(rng):
    angle = rng.uniform(0, np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.diag(rng.uniform(0.3, 1.8, size=2)) @ rotation.T


def _draw_2d(rng, n_iterations):
    n_samples = int(rng.integers(150, 451))
    weight = rng.uniform(0.25, 0.75)
    first = rng.uniform(-3.0, 3.0, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    second = first + rng.uniform(3.5, 6.0) * np.array([np.cos(angle), np.sin(angle)])
    n_first = int(n_samples * weight)
    covariances = [_random_covariance(rng), _random_covariance(rng)]
    data = rng.permutation(np.vstack([rng.multivariate_normal(first, covariances[0], n_first),
                                      rng.multivariate_normal(second, covariances[1], n_samples - n_first)]))
    # like the notebook: parameters computed from random responsibilities
    gamma = rng.dirichlet(alpha=[1, 1], size=n_samples)
    truth = {"pi_true": [weight, 1 - weight], "mu_true": [first, second], "cov_true": covariances}
    return seed.Problem(data, multivariate.m_step(data, gamma), n_iterations), gamma, truth


def hidden_setup(assignment_id, secret):
    """(problem, initial responsibilities or None, true parameters) of ``assignment_id`` for this secret.

    The true parameters are what the notebook's data cell names (``mu_true``...),
    so an EM cell that mentions them runs here as in the notebook. The arrays
    are read-only: every submission of the class shares them.
    """
    problem, gamma, truth = _hidden_setup(assignment_id, secret)
    return problem, gamma, dict(truth)


@functools.lru_cache(maxsize=16)
def _hidden_setup(assignment_id, secret):
    # drawing includes a trial EM run (_well_posed): once per assignment and secret, not per submission
    problem, gamma, truth = _draw(assignment_id, secret)
    for array in (problem.data, *problem.start, gamma):
        if isinstance(array, np.ndarray):
            array.setflags(write=False)
    return problem, gamma, truth


def _draw(assignment_id, secret):
    rng = _generator(secret, assignment_id)
    for _ in range(ATTEMPTS):
        if assignment_id == "01_em_1d":
            setup, em = _draw_1d(rng, seed.problem_1d().n_iterations), univariate
        elif assignment_id == "02_em_2d":
            setup, em = _draw_2d(rng, seed.problem_2d().n_iterations), multivariate
        else:
            raise KeyError(f"no hidden problem for {assignment_id}")
        if setup is not None and _well_posed(em, setup[0]):
            return setup
    raise RuntimeError(f"no well-posed hidden problem for {assignment_id} in {ATTEMPTS} draws")


def hidden_problem(assignment_id, secret):
    """(problem, initial responsibilities or None) of ``assignment_id`` for this secret; reproducible."""
    return hidden_setup(assignment_id, secret)[:2]


def seed_setup(assignment_id):
    """(problem, initial responsibilities or None, true parameters) exactly as the notebook's cells make them."""
    if assignment_id == "01_em_1d":
        return seed.problem_1d(), None, {"w_true": [0.7, 0.3], "mu_true": [0, 5], "sigma_true": [1, 1]}
    if assignment_id == "02_em_2d":
        problem = seed.problem_2d()
        gamma = np.random.RandomState(42).dirichlet(alpha=[1, 1], size=len(problem.data))
        truth = {"pi_true": [0.7, 0.3], "mu_true": [np.array([0, 0]), np.array([4, 4])],
                 "cov_true": [np.array([[1, 0.5], [0.5, 1]]), np.array([[1, -0.3], [-0.3, 1]])]}
        return problem, gamma, truth
    raise KeyError(f"no seed problem for {assignment_id}")


def seed_problem(assignment_id):
    """(problem, initial responsibilities or None) exactly as the notebook's own cells create them."""
    return seed_setup(assignment_id)[:2]
