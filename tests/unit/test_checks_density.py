"""Notebook 11's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import dataclasses
import io

import nbformat
import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from grader.assignments import INPUTS, default_registry
from grader.checks import density
from grader.course import DEFAULT_ROOT, Course
from grader.em import density as reference
from grader.misconceptions import CATALOGUE, DENSITY
from grader.samples import MUTANTS, fill_blanks
from tests.support.notebook_runs import failure_messages, hidden_inputs, run_cells

ASSIGNMENT = "11_density_anomaly"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPEC = default_registry()[ASSIGNMENT]
CHECK_FUNCTIONS = [check for _, check in density.CHECKS]
DENSITY_CHECK, BIC, COMPONENTS, POINTS, ANOMALIES = (check.__name__ for check in CHECK_FUNCTIONS)

#: Agreement of the reference log density with scikit-learn's score_samples (both in float64 from the same
#: parameters; measured: at most 4.4e-13 relative on the moons, 3.4e-16 thirty spreads away, K = 1, 3, 8).
LOG_DENSITY_RTOL = 1e-9
#: A correct sampler's statistics from N draws: frequencies within 5 standard errors, means within the
#: chi-square quantile at 1e-6, covariance entries over sqrt(Sigma_ii Sigma_jj) within 5 sqrt(2 / N_k), on 20000
#: draws (the checks whiten instead; this is written independently of them).
STATISTICS_Z = 5.0


def run_release(answers, until="density"):
    """Execute the release's code cells with ``answers`` filled in (None: as released) up to ``until``."""
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    return failure_messages(density.CHECKS, ns)


# --- the reference against independent implementations ---------------------------------------------------------


def _fits():
    problem = density.notebook_problem()
    return problem, [GaussianMixture(K, covariance_type="full", random_state=1).fit(problem.data) for K in (1, 3, 8)]


def test_reference_log_density_is_scikit_learns_score_samples_also_far_away():
    problem, models = _fits()
    for model in models:
        for points in (problem.data, density.far_points(problem.data)):
            ours = reference.log_density(points, model.means_, model.covariances_, model.weights_)
            np.testing.assert_allclose(ours, model.score_samples(points), rtol=LOG_DENSITY_RTOL)
            assert np.all(np.isfinite(ours))


def test_reference_log_density_is_the_log_of_the_summed_densities_near_the_data():
    """Written differently: scipy's pdf per component, summed in probability space where it does not underflow."""
    problem, models = _fits()
    for model in models:
        p = sum(
            w * multivariate_normal.pdf(problem.data, m, c)
            for w, m, c in zip(model.weights_, model.means_, model.covariances_)
        )
        ours = reference.log_density(problem.data, model.means_, model.covariances_, model.weights_)
        np.testing.assert_allclose(ours, np.log(p), rtol=LOG_DENSITY_RTOL)


def test_reference_bic_is_scikit_learns():
    problem, models = _fits()
    n_samples, n_features = problem.data.shape
    for model in models:
        log_likelihood = model.score(problem.data) * n_samples
        assert reference.bic(log_likelihood, model.n_components, n_features, n_samples) == pytest.approx(
            model.bic(problem.data), rel=1e-12
        )
        assert reference.n_parameters(model.n_components, n_features) == model._n_parameters()


def test_reference_sampler_matches_the_mixture_in_distribution():
    """Frequencies, per-component means and covariances of 20000 draws agree with the mixture (not the checks' code)."""
    means, covariances, weights = density.notebook_problem().mixture
    n_draws = 20000
    samples, labels = reference.sample(n_draws, means, covariances, weights, np.random.default_rng(7))
    frequencies = np.bincount(labels, minlength=len(weights)) / n_draws
    assert np.all(np.abs(frequencies - weights) <= STATISTICS_Z * np.sqrt(weights * (1 - weights) / n_draws))
    for k in range(len(weights)):
        points = samples[labels == k]
        offset = points.mean(axis=0) - means[k]
        assert len(points) * offset @ np.linalg.solve(covariances[k], offset) <= 27.6  # chi2(2) at 1 - 1e-6
        relative = np.cov(points, rowvar=False) / np.sqrt(np.outer(np.diag(covariances[k]), np.diag(covariances[k])))
        expected = covariances[k] / np.sqrt(np.outer(np.diag(covariances[k]), np.diag(covariances[k])))
        assert np.max(np.abs(relative - expected)) <= STATISTICS_Z * np.sqrt(2 / len(points))


def test_reference_sampler_repeats_for_one_seed_and_differs_for_another():
    means, covariances, weights = density.notebook_problem().mixture
    first = reference.sample(100, means, covariances, weights, np.random.default_rng(3))
    again = reference.sample(100, means, covariances, weights, np.random.default_rng(3))
    other = reference.sample(100, means, covariances, weights, np.random.default_rng(4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_reference_anomalies_flag_the_lowest_percentile():
    log_p = np.random.default_rng(0).normal(size=1000)
    threshold, flagged = reference.anomalies(log_p, 4)
    assert flagged.sum() == 40 and np.all(log_p[flagged] < np.sort(log_p)[40])
    assert threshold == pytest.approx(np.sort(log_p)[39:41].mean(), rel=0.1)


def test_a_correct_sampler_rarely_fails_the_sampling_checks():
    """200 other seeds of the reference sampler pass both sampling checks (their tolerance is about 1e-8 each)."""
    problem = density.notebook_problem()
    for seed in range(200):
        ns = {"X": problem.data, INPUTS: dataclasses.replace(problem, cases_seed=seed)}
        ns["sample_mixture"] = reference.sample
        density.check_sample_components(ns)
        density.check_sample_points(ns)


# --- the checks on typed-in answers ------------------------------------------------------------------------------


def test_typed_right_answers_pass_every_check():
    ns = run_release(SPEC.samples.seed_style)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert density.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


@pytest.mark.parametrize(
    "changes, failing, explanation",
    [
        ({"log_p": "np.max(np.log(weights) + log_gauss, axis=1)"}, {DENSITY_CHECK}, "not the largest term"),
        ({"log_p": "np.log(np.sum(weights * np.exp(log_gauss), axis=1))"}, {DENSITY_CHECK}, "far from every"),
        ({"n_params": "K * D + (K - 1) + K * D * D"}, {BIC}, "D(D+1)/2"),
        ({"bic_value": "-2 * log_likelihood + n_params"}, {BIC}, "not M alone"),
        ({"labels": "rng.choice(len(weights), size=n_samples)"}, {COMPONENTS}, "p=weights"),
        ({"samples": 'means[labels] + np.einsum("nij,nj->ni", covariances[labels], z)'}, {POINTS}, "Cholesky"),
        ({"labels": "np.random.choice(len(weights), size=n_samples, p=weights)"}, {COMPONENTS, POINTS}, "np.random"),
        ({"flagged": "log_p > threshold"}, {ANOMALIES}, "BELOW"),
        ({"threshold": "np.percentile(log_p, 100 - percentile)"}, {ANOMALIES}, "LEAST likely"),
    ],
)
def test_typical_mistakes_fail_their_checks_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**SPEC.samples.seed_style, **changes}))
    assert set(failed) == failing
    first = next(name for name in (DENSITY_CHECK, BIC, COMPONENTS, POINTS, ANOMALIES) if name in failing)
    assert explanation in failed[first], failed[first]


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == {DENSITY_CHECK, BIC, COMPONENTS, POINTS, ANOMALIES}
    assert all("is not defined" in message for message in failed.values())


def test_wrong_data_is_reported():
    ns = run_release(SPEC.samples.seed_style)
    ns["X"] = ns["X"] + 1
    with pytest.raises(density.CheckFailed, match="re-run the notebook from the top"):
        density.check_log_density(ns)


def test_a_sampler_without_noise_matches_no_known_mistake():
    ns = run_release({**SPEC.samples.seed_style, "samples": "means[labels] + 0 * z"})
    with pytest.raises(density.CheckFailed) as failed:
        density.check_sample_points(ns)
    assert failed.value.diagnosis == () and "no known mistake" in str(failed.value)


def test_two_bic_mistakes_at_once_are_both_named():
    ns = run_release(
        {
            **SPEC.samples.seed_style,
            "n_params": "K * D + K + K * D * (D + 1) // 2",
            "bic_value": "-2 * log_likelihood + n_params",
        }
    )
    with pytest.raises(density.CheckFailed) as failed:
        density.check_bic(ns)
    assert set(failed.value.diagnosis) == {"weights-all-counted", "bic-log-n-missing"}


# --- the catalogue (each sample judged on the notebook's and hidden inputs: tests/unit/test_catalogue.py) ---


HIDDEN = hidden_inputs(SPEC, 2)
MUTANTS_11 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]


def test_hidden_inputs_differ_from_the_notebooks():
    notebook = SPEC.notebook().details
    for drawn in HIDDEN:
        problem = drawn.details
        assert problem.data.shape != notebook.data.shape or not np.allclose(problem.data, notebook.data)
        assert not np.allclose(problem.data.mean(axis=0), notebook.data.mean(axis=0), atol=0.05)
        assert problem.cases_seed != notebook.cases_seed
        assert len(problem.mixture[2]) != len(notebook.mixture[2]) or not np.allclose(
            problem.mixture[2], notebook.mixture[2]
        )
        assert set(drawn.variables) == {"X"} and drawn.variables["X"] is problem.data


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    ids = {s.misconception for s in MUTANTS_11}
    assert {m.id for m in DENSITY} <= ids and ids <= set(CATALOGUE)
