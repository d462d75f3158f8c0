"""Notebook 12's reference against scikit-learn, and its checks on answers typed into its release, in-process."""

import contextlib
import io
import warnings

import nbformat
import numpy as np
import pytest
from scipy.special import digamma, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from grader.assignments import default_registry
from grader.checks import variational_mixture
from grader.checks.candidates import attempt, reproduces
from grader.checks.core import all_close
from grader.course import DEFAULT_ROOT, Course
from grader.em import variational as reference
from grader.misconceptions import VARIATIONAL_MIXTURE
from grader.samples import MUTANTS, fill_blanks
from tests.support.notebook_runs import failure_messages, hidden_inputs, run_cells

ASSIGNMENT = "12_variational_mixture"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPEC = default_registry()[ASSIGNMENT]
CONCENTRATION, LOG_WEIGHTS, RESPONSIBILITIES, SWITCH_OFF = (check.__name__ for _, check in variational_mixture.CHECKS)

#: scikit-learn and the reference, from the same responsibilities and priors, after 100 iterations: measured
#: largest relative difference 5e-15 (weights, means, precisions) on the notebook's data for alpha_0 from 1e-3 to
#: 1e3; the bound leaves room for other BLAS builds and stays far below any catalogued mistake's effect.
SKLEARN_RTOL = 1e-10


class FromResponsibilities(BayesianGaussianMixture):
    """scikit-learn's variational mixture started from ``resp_start_`` instead of its own initialisation."""

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp_start_)


def sklearn_fit(data, start, prior, n_iterations):
    model = FromResponsibilities(
        n_components=start.shape[1],
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=prior.alpha_0,
        mean_precision_prior=prior.beta_0,
        mean_prior=[prior.m_0],
        degrees_of_freedom_prior=prior.nu_0,
        covariance_prior=[[1 / prior.W_0]],
        reg_covar=0.0,
        max_iter=n_iterations,
        tol=0.0,
    )
    model.resp_start_ = start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data[:, None])
    return model


HIDDEN = hidden_inputs(SPEC, 3)


@pytest.mark.parametrize("alpha_0", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("where", ["notebook", "hidden"])
def test_reference_fit_matches_scikit_learn_from_the_same_start_and_priors(alpha_0, where):
    problem = variational_mixture.notebook_problem() if where == "notebook" else HIDDEN[0].details
    prior = reference.default_prior(problem.data, alpha_0)
    # scikit-learn's own default priors are the reference's (mean, beta_0 = 1, nu_0 = D, np.cov of the data)
    defaults = BayesianGaussianMixture(n_components=2)
    defaults._check_parameters(problem.data[:, None])
    assert (defaults.mean_precision_prior_, defaults.degrees_of_freedom_prior_) == (prior.beta_0, prior.nu_0)
    np.testing.assert_allclose(defaults.mean_prior_, [prior.m_0], rtol=1e-14)
    np.testing.assert_allclose(defaults.covariance_prior_, [[1 / prior.W_0]], rtol=1e-14)
    for n_iterations in (0, 1, 100):
        q = reference.fit(problem.data, problem.start, prior, n_iterations)
        model = sklearn_fit(problem.data, problem.start, prior, n_iterations)
        np.testing.assert_allclose(q.alpha, model.weight_concentration_, rtol=SKLEARN_RTOL)
        np.testing.assert_allclose(reference.posterior_weights(q), model.weights_, rtol=SKLEARN_RTOL)
        np.testing.assert_allclose(q.beta, model.mean_precision_, rtol=SKLEARN_RTOL)
        np.testing.assert_allclose(q.m, model.means_[:, 0], rtol=SKLEARN_RTOL, atol=1e-12)
        np.testing.assert_allclose(q.nu, model.degrees_of_freedom_, rtol=SKLEARN_RTOL)
        np.testing.assert_allclose(q.nu * q.W, model.precisions_[:, 0, 0], rtol=SKLEARN_RTOL)
        # the E-step: scikit-learn's responsibilities from the same factors
        _, log_resp = model._estimate_log_prob_resp(problem.data[:, None])
        np.testing.assert_allclose(reference.e_step(problem.data, q), log_resp, rtol=SKLEARN_RTOL, atol=1e-9)


def test_expected_log_weight_is_the_dirichlet_mean_of_ln_pi_by_sampling_and_below_ln_mean():
    """eq. (10.66) by Monte Carlo, written differently (Gamma draws normalised); Jensen: E[ln pi] < ln E[pi]."""
    alpha = np.array([0.3, 2.0, 40.0])
    rng = np.random.default_rng(0)
    gammas = rng.gamma(alpha, size=(400_000, 3))
    pi = gammas / gammas.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(reference.expected_log_weights(alpha), np.log(pi).mean(axis=0), rtol=0, atol=0.02)
    np.testing.assert_allclose(reference.expected_weights(alpha - 0.1, 0.1), pi.mean(axis=0), atol=2e-3)
    assert np.all(reference.expected_log_weights(alpha) < np.log(alpha / alpha.sum()))


def test_gaussian_wishart_expectations_match_a_direct_computation():
    """eqs. (10.64)-(10.65) in 1D: Lambda ~ Gamma(nu / 2, scale 2 W), mu | Lambda ~ N(m, 1 / (beta Lambda))."""
    beta, m, W, nu = np.array([3.0]), np.array([1.5]), np.array([0.2]), np.array([7.0])
    # E[ln Lambda] of a Gamma(shape a, scale s) is psi(a) + ln s
    np.testing.assert_allclose(reference.expected_log_precision(W, nu), digamma(nu / 2) + np.log(2 * W), rtol=1e-14)
    rng = np.random.default_rng(1)
    precision = rng.gamma(nu / 2, 2 * W, size=400_000)
    mu = rng.normal(m, 1 / np.sqrt(beta * precision))
    x = np.array([-2.0, 1.5, 4.0])
    direct = ((x[:, None] - mu[None, :]) ** 2 * precision[None, :]).mean(axis=1)
    np.testing.assert_allclose(reference.expected_quadratic(x, beta, m, W, nu)[:, 0], direct, rtol=0.02)


def test_responsibilities_are_the_normalised_exponentials_and_finite_far_out():
    problem = variational_mixture.notebook_problem()
    q = reference.m_step(problem.data, problem.start, reference.default_prior(problem.data, 1.0))
    x = np.concatenate([problem.data[:5], [1e3]])
    log_r = reference.e_step(x, q)
    rho = np.exp(log_r[:5])  # near points: the direct computation in probability space
    np.testing.assert_allclose(rho, rho / rho.sum(axis=1, keepdims=True), rtol=1e-12)
    assert np.all(np.isfinite(log_r)) and np.allclose(logsumexp(log_r, axis=1), 0.0)


def test_tight_prior_switches_components_off_and_loose_prior_keeps_them():
    problem = variational_mixture.notebook_problem()
    tight = reference.posterior_weights(
        reference.fit(problem.data, problem.start, reference.default_prior(problem.data, 1e-3), 100)
    )
    loose = reference.posterior_weights(
        reference.fit(problem.data, problem.start, reference.default_prior(problem.data, 1e3), 100)
    )
    assert np.sum(tight > 0.01) == 3 and np.all(np.sort(tight)[:3] < 1e-5)
    assert np.all(np.abs(loose - 1 / 6) < 0.01)


# --- the checks on typed-in answers ---------------------------------------------------------------------------


def run_release(answers, until="variational"):
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    return failure_messages(variational_mixture.CHECKS, ns)


def test_seed_style_answers_pass_every_check():
    ns = run_release(SPEC.samples.seed_style)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert variational_mixture.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


def test_hidden_inputs_differ_from_the_notebooks():
    notebook = SPEC.notebook()
    for drawn in HIDDEN:
        assert drawn.cell == "data" and set(drawn.variables) == set(notebook.variables)
        assert drawn.variables["data"].shape != notebook.variables["data"].shape or not np.allclose(
            drawn.variables["data"], notebook.variables["data"]
        )
        assert drawn.details.cases_seed != notebook.details.cases_seed


def test_notebook_inputs_are_what_the_data_cell_defines():
    ns = run_release(None, until="data")
    for name, value in SPEC.notebook().variables.items():
        np.testing.assert_array_equal(ns[name], value)


MUTANTS_12 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    assert {s.misconception for s in MUTANTS_12} == {m.id for m in VARIATIONAL_MIXTURE}


def test_two_mistakes_at_once_match_no_known_mistake():
    ns = run_release({**SPEC.samples.seed_style, "log_rho": "expected_log_pi - expected_quad", "log_r": "log_rho"})
    with pytest.raises(variational_mixture.CheckFailed) as failed:
        variational_mixture.check_responsibilities(ns)
    assert failed.value.diagnosis == () and "no known mistake" in str(failed.value)


def test_probability_space_is_told_apart_only_by_the_far_points(monkeypatch):
    """Normalising exp(ln rho) agrees with log space near the data; the far points expose the underflow."""
    ns = run_release(
        {**SPEC.samples.seed_style, "log_r": "np.log(np.exp(log_rho) / np.exp(log_rho).sum(axis=1, keepdims=True))"}
    )
    with pytest.raises(variational_mixture.CheckFailed) as failed:
        variational_mixture.check_responsibilities(ns)
    assert failed.value.diagnosis == ("responsibilities-probability-space",)
    monkeypatch.setattr(variational_mixture, "_far_points", lambda data: data[:20])
    variational_mixture.check_responsibilities(ns)


def test_wrong_data_is_reported():
    ns = run_release(SPEC.samples.seed_style)
    ns["data"] = ns["data"] + 1
    with pytest.raises(variational_mixture.CheckFailed, match="re-run the notebook from the top"):
        variational_mixture.check_switch_off(ns)


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == {CONCENTRATION, LOG_WEIGHTS, RESPONSIBILITIES, SWITCH_OFF}
    assert all("is not defined" in message for message in failed.values())


CANDIDATE_LISTS = {
    "alpha": (variational_mixture.ALPHA_CANDIDATES, variational_mixture._count_cases),
    "weights": (variational_mixture.WEIGHT_CANDIDATES, variational_mixture._count_cases),
    "expected_log_pi": (variational_mixture.LOG_WEIGHT_CANDIDATES, variational_mixture._concentrations),
    "log_r": (variational_mixture.RESPONSIBILITY_CANDIDATES, variational_mixture._response_cases),
}


@pytest.mark.parametrize("quantity", sorted(CANDIDATE_LISTS))
def test_two_catalogued_mistakes_never_coincide_on_every_input(quantity):
    candidates, make_cases = CANDIDATE_LISTS[quantity]
    for problem in [variational_mixture.notebook_problem(), *(where.details for where in HIDDEN)]:
        cases = make_cases(problem)
        values = [(ids, [attempt(lambda c, f=compute: f(*c), c) for c in cases]) for ids, compute in candidates]
        for i, (ids, mine) in enumerate(values):
            for other, theirs in values[i + 1 :]:
                if other != ids:
                    assert not all(reproduces(a, b, all_close) for a, b in zip(mine, theirs)), (ids, other)
