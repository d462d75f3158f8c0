"""Notebook 09's checks on answers typed into its release, run in-process (fast) rather than in a kernel.

scikit-learn has no Bernoulli mixture, so the reference (:mod:`grader.em.bernoulli`) is compared with direct
computations written differently: scipy.stats.bernoulli's log-pmf summed over the pixels, and loops over
images, components and pixels in probability space (the notebook's 64 pixels do not underflow).
"""

import contextlib
import io
import math

import nbformat
import numpy as np
import pytest
from scipy.stats import bernoulli
from sklearn.datasets import load_digits

from grader.assignments import default_registry
from grader.checks import bernoulli_mixture
from grader.course import DEFAULT_ROOT, Course
from grader.em import bernoulli as reference
from grader.misconceptions import BERNOULLI_MIXTURE
from grader.samples import MUTANTS, fill_blanks
from tests.support.notebook_runs import failure_messages, hidden_inputs, run_cells

ASSIGNMENT = "09_bernoulli_mixtures"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPEC = default_registry()[ASSIGNMENT]
#: Agreement of the reference with the independent computations: sums of 64 logs (or a product of 64
#: probabilities and its log) in another order differ by rounding only, about 1e-15 relative.
RTOL = 1e-10

LOG_P, GAMMA, M_STEP, RUN = (check.__name__ for _, check in bernoulli_mixture.CHECKS)


def run_release(answers, until="bernoulli_em"):
    """Execute the release's code cells with ``answers`` filled in (None: as released) up to ``until``."""
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    return failure_messages(bernoulli_mixture.CHECKS, ns)


# --- the reference against computations written differently -------------------------------------------------

PROBLEM = bernoulli_mixture.notebook_problem()


def some_means(seed=0, K=3):
    """Means (K, 64) with a few entries exactly 0 and 1, as the M-step gives."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.05, 0.95, size=(K, PROBLEM.X.shape[1]))
    mu[0, :3], mu[1, -3:] = 0.0, 1.0
    return mu


def test_binarised_digits_are_scikit_learns_2_3_and_4_above_the_threshold():
    digits = load_digits()
    mask = (digits.target == 2) | (digits.target == 3) | (digits.target == 4)
    expected = np.where(digits.images[mask].reshape(-1, 64) >= 8, 1.0, 0.0)
    np.testing.assert_array_equal(PROBLEM.X, expected)
    assert PROBLEM.X.shape == (541, 64) and PROBLEM.mu_start.shape == (3, 64)
    assert PROBLEM.mu_start.min() > 0.25 and PROBLEM.mu_start.max() < 0.75


def test_log_bernoulli_is_scipys_log_pmf_summed_over_the_pixels():
    mu = reference.clip_means(some_means())
    expected = bernoulli.logpmf(PROBLEM.X[:, None, :], mu[None, :, :]).sum(axis=2)
    np.testing.assert_allclose(reference.log_bernoulli(PROBLEM.X, some_means()), expected, rtol=RTOL)


def test_log_bernoulli_is_the_log_of_the_product_of_eq_9_48_by_loops():
    mu = reference.clip_means(some_means(seed=1))
    X = PROBLEM.X[::50]
    expected = [
        [math.log(math.prod(m if x == 1 else 1 - m for x, m in zip(image, mean))) for mean in mu] for image in X
    ]
    np.testing.assert_allclose(reference.log_bernoulli(X, mu), expected, rtol=RTOL)


def test_responsibilities_are_eq_9_56_in_probability_space():
    mu, pi = reference.clip_means(some_means(seed=2)), np.array([0.2, 0.5, 0.3])
    X = PROBLEM.X[::10]
    density = np.array([[np.prod(np.where(image == 1, mean, 1 - mean)) for mean in mu] for image in X])
    expected = pi * density / (pi * density).sum(axis=1, keepdims=True)
    log_p = reference.log_bernoulli(X, mu)
    np.testing.assert_allclose(reference.responsibilities(log_p, pi), expected, rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(reference.log_likelihood(X, mu, pi), np.log((pi * density).sum(axis=1)).sum(), rtol=RTOL)


def loop_m_step(X, gamma):
    """Eqs. (9.57)-(9.60) one component and one pixel at a time."""
    N, K = gamma.shape
    n_k = [sum(gamma[n, k] for n in range(N)) for k in range(K)]
    mu = [[sum(gamma[n, k] * X[n, d] for n in range(N)) / n_k[k] for d in range(X.shape[1])] for k in range(K)]
    return np.array(mu), np.array(n_k) / N


def test_m_step_is_the_weighted_average_of_eqs_9_57_to_9_60_by_loops():
    X = PROBLEM.X[::5]
    gamma = np.random.default_rng(3).dirichlet(np.ones(3), size=len(X))
    for actual, expected in zip(reference.m_step(X, gamma), loop_m_step(X, gamma)):
        np.testing.assert_allclose(actual, expected, rtol=RTOL)


def test_notebook_run_matches_an_em_written_with_scipy_and_loops_and_its_log_likelihood_never_falls():
    means, weights, log_likelihoods = reference.fit(PROBLEM.X, PROBLEM.mu_start, PROBLEM.pi_start, 5)
    mu, pi = PROBLEM.mu_start, PROBLEM.pi_start
    for iteration in range(5):
        log_p = bernoulli.logpmf(PROBLEM.X[:, None, :], np.clip(mu, 1e-10, 1 - 1e-10)[None]).sum(axis=2)
        weighted = np.exp(log_p - log_p.max(axis=1, keepdims=True)) * pi
        mu, pi = loop_m_step(PROBLEM.X, weighted / weighted.sum(axis=1, keepdims=True))
        np.testing.assert_allclose(means[iteration], mu, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(weights[iteration], pi, rtol=1e-9)
    _, _, log_likelihoods = reference.fit(PROBLEM.X, PROBLEM.mu_start, PROBLEM.pi_start, bernoulli_mixture.N_ITERATIONS)
    assert np.all(np.diff(log_likelihoods) > 0)


def test_the_notebooks_components_are_the_three_digits():
    means, weights, _ = reference.fit(PROBLEM.X, PROBLEM.mu_start, PROBLEM.pi_start, bernoulli_mixture.N_ITERATIONS)
    _, labels = reference.binary_digits(bernoulli_mixture.CLASSES)
    component = reference.responsibilities(reference.log_bernoulli(PROBLEM.X, means[-1]), weights[-1]).argmax(axis=1)
    majority = {k: np.bincount(labels[component == k]).argmax() for k in range(3)}
    assert sorted(majority.values()) == [2, 3, 4]
    assert np.mean([majority[k] == label for k, label in zip(component, labels)]) > 0.9


def test_wide_case_underflows_in_probability_space_but_not_in_logs():
    """The checks' 784-pixel images: every p(x_n | mu_k) is below the smallest float, its log is finite."""
    X, mu = bernoulli_mixture._image_cases(PROBLEM)[2]
    assert X.shape[1] == bernoulli_mixture.WIDE_PIXELS
    log_p = reference.log_bernoulli(X, mu)
    assert np.all(np.isfinite(log_p)) and log_p.max() < np.log(np.finfo(float).tiny) - 100
    with np.errstate(under="ignore"):
        assert np.all(np.prod(np.where(X[:, None, :] == 1, mu[None], 1 - mu[None]), axis=2) == 0)


# --- the checks on typed answers ----------------------------------------------------------------------------------

#: Right answers as a student might type them.
CORRECT = {
    "log_p": "np.einsum('nd,kd->nk', X, np.log(mu)) + np.einsum('nd,kd->nk', 1 - X, np.log(1 - mu))",
    "log_gamma": "log_weighted - logsumexp(log_weighted, axis=1)[:, None]",
    "N_k": "np.sum(gamma, axis=0)",
    "mu": "(gamma.T @ X) / N_k.reshape(-1, 1)",
    "pi": "N_k / N_k.sum()",
}


def test_typed_right_answers_pass_every_check():
    ns = run_release(CORRECT)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert bernoulli_mixture.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


@pytest.mark.parametrize(
    "changes, failing, explanation",
    [
        ({"log_p": "X @ np.log(mu).T"}, {LOG_P, RUN}, "the second term is missing"),
        (
            {"log_p": "np.log(np.prod(np.where(X[:, None] == 1, mu[None], 1 - mu[None]), axis=-1))"},
            {LOG_P},
            "underflows to 0 for wide images",
        ),
        ({"log_gamma": "log_weighted - logsumexp(log_weighted, axis=0, keepdims=True)"}, {GAMMA, RUN}, "axis=1"),
        ({"log_gamma": "log_weighted - logsumexp(log_weighted, axis=1)"}, {GAMMA, RUN}, "keepdims=True"),
        ({"mu": "gamma.T @ X / N_k"}, {M_STEP, RUN}, "N_k[:, None]"),
        ({"pi": "N_k"}, {M_STEP, RUN}, "pi_k = N_k / N"),
    ],
)
def test_typical_mistakes_fail_their_checks_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    for name in failing:
        assert explanation in failed[name], failed[name]


def test_a_shape_mistake_that_raises_keeps_the_error_and_names_the_mistake():
    failed = failures(run_release({**CORRECT, "mu": "gamma.T @ X / N_k"}))
    assert "raised ValueError" in failed[M_STEP] and "[bernoulli-mean-not-column]" in failed[M_STEP]


def test_two_mistakes_at_once_match_no_known_mistake():
    ns = run_release({**CORRECT, "log_p": "(1 - X) @ np.log(mu).T / X.shape[1]"})
    with pytest.raises(bernoulli_mixture.CheckFailed) as failed:
        bernoulli_mixture.check_log_bernoulli(ns)
    assert failed.value.diagnosis == () and "matches no known mistake" in str(failed.value)


def test_wrong_data_is_reported():
    ns = run_release(CORRECT)
    ns["X"] = 1 - ns["X"]
    for _, check in bernoulli_mixture.CHECKS:
        with pytest.raises(bernoulli_mixture.CheckFailed, match="re-run the notebook from the top"):
            check(ns)


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == {LOG_P, GAMMA, M_STEP, RUN}
    assert all("is not defined" in message for message in failed.values())


# --- the catalogue (each sample judged on the notebook's and hidden inputs: tests/unit/test_catalogue.py) ---


HIDDEN = hidden_inputs(SPEC, 3)
MUTANTS_09 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]


def sample_namespace(sample):
    return run_cells(sample.notebook(nbformat.read(RELEASE, as_version=4)), "bernoulli_em")


def test_hidden_inputs_differ_from_the_notebooks():
    for where in HIDDEN:
        problem = where.details
        assert problem.X.shape != PROBLEM.X.shape or not np.array_equal(problem.X, PROBLEM.X)
        assert problem.mu_start.shape != PROBLEM.mu_start.shape or not np.allclose(problem.mu_start, PROBLEM.mu_start)
        assert problem.cases_seed != PROBLEM.cases_seed
        assert where.variables["K"] == len(problem.pi_start) == problem.mu_start.shape[0]


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    assert {s.misconception for s in MUTANTS_09} == {m.id for m in BERNOULLI_MIXTURE}
