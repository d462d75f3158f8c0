"""The check functions on real notebook code, run in-process (fast) rather than in a kernel."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

from grader.checks import CheckFailed, em1d, em2d
from grader.em import multivariate, seed, univariate
from grader.samples import ALTERNATIVES, MISTAKES, MUTANTS, SEED_STYLE, fill_blanks, variant
from tests.support.notebook_runs import release, run_cells

#: The EM notebooks whose checks this module tests (the later notebooks have a test module each).
CHECKS = {"01_em_1d": em1d, "02_em_2d": em2d}


def run_until_em(nb):
    return run_cells(nb, "em_loop")


def failures(module, ns):
    out = {}
    for _label, check in module.CHECKS:
        try:
            check(ns)
        except CheckFailed as failure:
            out[check.__name__] = failure
    return out


def test_reference_em_matches_scikit_learn_1d():
    problem = seed.problem_1d()
    run = univariate.fit(problem.data, *problem.start, problem.n_iterations)
    mu, sigma, pi = problem.start
    gm = GaussianMixture(
        2,
        covariance_type="spherical",
        max_iter=problem.n_iterations,
        tol=0,
        reg_covar=0,
        weights_init=pi,
        means_init=mu[:, None],
        precisions_init=1 / sigma**2,
    )
    with np.errstate(all="ignore"), pytest.warns(Warning):  # ConvergenceWarning: 20 iterations by design
        gm.fit(problem.data[:, None])
    np.testing.assert_allclose(run.final[0], gm.means_[:, 0], rtol=1e-10)
    np.testing.assert_allclose(run.final[1] ** 2, gm.covariances_, rtol=1e-10)
    np.testing.assert_allclose(run.final[2], gm.weights_, rtol=1e-10)
    assert run.log_likelihoods[0] == pytest.approx(-643.76, abs=0.01)
    assert run.log_likelihoods[-1] == pytest.approx(-616.68, abs=0.01)
    assert np.all(np.diff(run.log_likelihoods) >= 0)


def test_reference_em_matches_scikit_learn_2d():
    problem = seed.problem_2d()
    run = multivariate.fit(problem.data, *problem.start, problem.n_iterations)
    mu, cov, pi = problem.start
    gm = GaussianMixture(
        2,
        covariance_type="full",
        max_iter=problem.n_iterations,
        tol=0,
        reg_covar=0,
        weights_init=pi,
        means_init=mu,
        precisions_init=np.linalg.inv(cov),
    )
    with pytest.warns(Warning):
        gm.fit(problem.data)
    np.testing.assert_allclose(run.final[0], gm.means_, rtol=1e-10)
    np.testing.assert_allclose(run.final[1], gm.covariances_, rtol=1e-10)
    np.testing.assert_allclose(run.final[2], gm.weights_, rtol=1e-10)
    np.testing.assert_allclose(run.log_likelihoods[-1] / len(problem.data), gm.score(problem.data), rtol=1e-10)


@pytest.mark.parametrize("assignment_id", sorted(CHECKS))
def test_seed_style_answers_pass_every_check(assignment_id):
    ns = run_until_em(fill_blanks(release(assignment_id), SEED_STYLE[assignment_id]))
    assert failures(CHECKS[assignment_id], ns) == {}


@pytest.mark.parametrize("assignment_id, misconception", sorted(k for k in MISTAKES if k[0] in CHECKS))
def test_typical_mistakes_fail_and_are_named(assignment_id, misconception):
    answers = variant(assignment_id, **MISTAKES[assignment_id, misconception])
    ns = run_until_em(fill_blanks(release(assignment_id), answers))
    failed = failures(CHECKS[assignment_id], ns)
    assert failed, "a wrong answer passed every check"
    diagnosed = {i for failure in failed.values() for i in failure.diagnosis}
    assert misconception in diagnosed
    for failure in failed.values():
        assert misconception in str(failure) or not failure.diagnosis


def test_wrong_sigma_keeps_estep_mean_and_weight_credit():
    answers = variant("01_em_1d", **MISTAKES["01_em_1d", "sigma-is-variance"])
    ns = run_until_em(fill_blanks(release("01_em_1d"), answers))
    assert set(failures(em1d, ns)) == {"check_spread", "check_convergence"}


def test_missing_variables_say_which_cells_to_run():
    with pytest.raises(CheckFailed, match="run the notebook from the top down to the cell you filled in"):
        em1d.check_estep({})


def test_weights_summed_over_components_are_not_called_not_updated():
    """``gamma.sum(axis=1)[k]`` is 1 for every k: the weights stay at 1 / N, which is not "not updated"."""
    answers = variant("02_em_2d", **{"pi[k]": "gamma.sum(axis=1)[k] / len(data)"})
    failure = failures(em2d, run_until_em(fill_blanks(release("02_em_2d"), answers)))["check_pi"]
    assert failure.diagnosis == ("weights-summed-over-components",)


def test_an_unexplained_estep_names_the_components_not_the_points():
    answers = variant("01_em_1d", **{"gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k]) ** (k + 1)"})
    message = str(failures(em1d, run_until_em(fill_blanks(release("01_em_1d"), answers)))["check_estep"])
    assert "matches no known mistake" in message
    assert "(component k = 0, 1)" in message, message


def test_checks_never_print_expected_values():
    answers = variant("01_em_1d", **{"sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k]) + 0.01"})
    ns = run_until_em(fill_blanks(release("01_em_1d"), answers))
    message = str(failures(em1d, ns)["check_spread"])
    assert "matches no known mistake" in message
    expected_sigma = np.sqrt((ns["gamma"] * (ns["data"][:, None] - ns["mu"]) ** 2).sum(0) / ns["gamma"].sum(0))
    for value in expected_sigma:
        assert f"{value:.3f}"[:5] not in message


def test_self_check_prints_one_line_per_check_and_a_verdict(capsys):
    ns = run_until_em(fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"]))
    assert em1d.self_check(ns) is True
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == len(em1d.CHECKS) + 1
    assert lines[-1] == "All checks passed: your EM is correct."


def sample_failures(key):
    """{check name: CheckFailed} for the mutant or alternative of grader.samples with this key."""
    (sample,) = [s for s in MUTANTS + ALTERNATIVES if s.key == key]
    return failures(CHECKS[sample.assignment_id], run_until_em(sample.notebook(release(sample.assignment_id))))


def test_a_diagnosis_at_a_later_iteration_beats_an_unexplained_first_one():
    # made-up weights at iteration 1 match no mistake; from iteration 2 on they are N_k, not N_k / N
    answers = variant("02_em_2d", **{"pi[k]": "(0.3 + 0.4 * k) if iteration == 0 else N_k[k]"})
    ns = run_until_em(fill_blanks(release("02_em_2d"), answers))
    failure = failures(em2d, ns)["check_pi"]
    assert failure.diagnosis == ("weights-not-normalised",)
    assert "at iteration 1:" not in str(failure)


def test_a_loop_broken_by_one_update_costs_that_update_and_the_run_only():
    failed = sample_failures("02_em_2d-covariance-divided-by-n-blank cov[k]")
    assert {name: f.diagnosis for name, f in failed.items()} == {
        "check_spread": ("covariance-divided-by-n",),
        "check_convergence": ("covariance-divided-by-n",),
    }
    assert "stopped after" in str(failed["check_convergence"]) and "Likely cause" in str(failed["check_convergence"])


def test_a_loop_that_stopped_with_valid_parameters_fails_every_step_check():
    ns = run_until_em(fill_blanks(release("02_em_2d"), SEED_STYLE["02_em_2d"]))
    # What a loop that raised at iteration 6 for a reason unrelated to the parameters leaves behind.
    del ns["params_history"][6:], ns["responsibilities_over_time"][7:], ns["log_likelihoods"][5:]
    failed = failures(em2d, ns)
    assert set(failed) == {check.__name__ for _, check in em2d.CHECKS}
    assert all("stopped after" in str(f) or "should hold" in str(f) for f in failed.values())
    assert not any(f.diagnosis for f in failed.values())


def test_an_aliased_history_costs_only_the_record():
    assert {
        name: f.diagnosis for name, f in sample_failures("02_em_2d-history-aliased-gamma reused in place").items()
    } == {"check_history": ("history-aliased",)}
    assert {
        name: f.diagnosis for name, f in sample_failures("01_em_1d-history-aliased-gamma allocated once").items()
    } == {"check_estep": ("history-aliased",)}


def test_1d_log_likelihood_lines_are_graded_with_the_convergence():
    failed = sample_failures("01_em_1d-loglik-wrong-no log")
    assert set(failed) == {"check_convergence"} and failed["check_convergence"].diagnosis == ("loglik-wrong",)


@pytest.mark.parametrize("sample", [s for s in ALTERNATIVES if s.assignment_id in CHECKS], ids=lambda s: s.key)
def test_correct_alternatives_pass_every_check(sample):
    assert sample_failures(sample.key) == {}


def test_the_log_likelihood_typed_directly_is_right_where_densities_near_underflow():
    """Eq. (9.14) summed in probability space loses digits to denormal densities; it is still eq. (9.14).

    On some data (an unnormalised E-step driving the weights to zero, a far outlier) a point's density is a
    few steps above the smallest double, and the student's line, correct, differs from the log-space sum.
    """
    ns = run_until_em(fill_blanks(release("02_em_2d"), SEED_STYLE["02_em_2d"]))
    mu, cov, pi = ns["mu"], ns["cov"], ns["pi"]

    def log_density(point):
        return float(logsumexp(multivariate.estimate_weighted_log_prob(point[None, :], mu, cov, pi)))

    outliers = []
    for target in (-741.0, -742.5, -743.5):  # the smallest double is exp(-744.4)
        low, high = 0.0, 1000.0
        for _ in range(200):  # bisect the distance along the diagonal to the target log density
            middle = (low + high) / 2
            low, high = (middle, high) if log_density(mu[0] + middle) > target else (low, middle)
        outliers.append(mu[0] + low)
    data = np.vstack([ns["data"], outliers])
    ns["data"] = data
    weighted = np.exp(multivariate.estimate_weighted_log_prob(data, mu, cov, pi))
    typed = np.log(weighted.sum(axis=1)).sum()
    reference = multivariate.log_likelihood(data, mu, cov, pi)
    assert not np.isclose(typed, reference, rtol=1e-6)  # the log-space sum disagrees beyond rounding
    gamma = weighted / weighted.sum(axis=1, keepdims=True)
    # one iteration that starts and ends at the fitted parameters, as the loop records it
    ns.update(params_history=[(mu, cov, pi)], responsibilities_over_time=[gamma, gamma], log_likelihoods=[typed])
    ns.update(n_iterations=1, gamma=gamma)
    em2d.check_log_likelihood(ns)
