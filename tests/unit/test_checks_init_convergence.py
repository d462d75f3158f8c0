"""Notebook 04's checks on answers typed into the release's blanks, run in-process (fast) rather than in a kernel."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.checks import CheckFailed, init_convergence
from grader.em import initialisation, multivariate, seed
from grader.misconceptions import INITIALISATION, hint
from grader.samples import fill_blanks
from tests.support.notebook_runs import student_notebook

ASSIGNMENT = "04_init_convergence"
STUDENT_CELL = "init_em"

#: Correct, written differently from the solution.
CORRECT = {
    "squared_distances": "np.min([((X - c) ** 2).sum(axis=1) for c in centers], axis=0)",
    "probabilities": "squared_distances / np.sum(squared_distances)",
    "gains": "(np.array(log_likelihoods[1:]) - np.array(log_likelihoods[:-1])) / n_samples",
    "converged": "len(gains) >= patience and max(gains[-patience:]) < tol",
    "final_log_likelihoods": "[run['log_likelihoods'][-1] for run in runs]",
    "best": "max(runs, key=lambda run: run['log_likelihoods'][-1])",
}

#: Typical wrong answers: blanks that differ from CORRECT -> {check that must fail: the catalogue id it names}.
WRONG = {
    "distance not squared": (
        {"squared_distances": "np.sqrt(np.min([((X - c) ** 2).sum(axis=1) for c in centers], axis=0))"},
        {"check_kmeans_plus_plus": "kmeanspp-distance-not-squared"},
    ),
    "distance to the last centre": (
        {"squared_distances": "((X - centers[-1]) ** 2).sum(axis=1)"},
        {"check_kmeans_plus_plus": "kmeanspp-distance-to-last-centre"},
    ),
    "distances summed over the centres": (
        {"squared_distances": "np.sum([((X - c) ** 2).sum(axis=1) for c in centers], axis=0)"},
        {"check_kmeans_plus_plus": "kmeanspp-distance-summed-over-centres"},
    ),
    "uniform draws": (
        {"probabilities": "np.full(len(X), 1 / len(X))"},
        {"check_kmeans_plus_plus": "kmeanspp-uniform-draws"},
    ),
    "gains not per sample": (
        {"gains": "np.diff(log_likelihoods)"},
        {"check_has_converged": "gain-not-per-sample", "check_runs": "gain-not-per-sample"},
    ),
    "no patience": (
        {"converged": "len(gains) >= 1 and gains[-1] < tol"},
        {"check_has_converged": "convergence-without-patience", "check_runs": "convergence-without-patience"},
    ),
    "any instead of all": (
        {"converged": "len(gains) >= patience and bool(np.any(gains[-patience:] < tol))"},
        {"check_has_converged": "patience-any-gain", "check_runs": "patience-any-gain"},
    ),
    "one gain too many": (
        {"converged": "len(gains) > patience and bool(np.all(gains[-patience - 1:] < tol))"},
        {"check_has_converged": "patience-window-off-by-one"},
    ),
    "no length check": (
        {"converged": "bool(np.all(gains[-patience:] < tol))"},
        {"check_has_converged": "patience-too-few-gains", "check_runs": "patience-too-few-gains"},
    ),
    "lowest run": (
        {"best": "runs[int(np.argmin(final_log_likelihoods))]"},
        {"check_best_run": "best-run-lowest", "check_restarts": "best-run-lowest"},
    ),
    "first values": (
        {
            "final_log_likelihoods": "[run['log_likelihoods'][0] for run in runs]",
            "best": "runs[int(np.argmax(final_log_likelihoods))]",
        },
        {"check_best_run": "best-run-first-value"},
    ),
    "most iterations": (
        {"best": "max(runs, key=lambda run: len(run['log_likelihoods']))"},
        {"check_best_run": "best-run-most-iterations"},
    ),
    "an index": (
        {"best": "int(np.argmax(final_log_likelihoods))"},
        {"check_best_run": "best-run-index", "check_restarts": "best-run-index"},
    ),
}


release, run_until_student_cell, failures = student_notebook(ASSIGNMENT, STUDENT_CELL, init_convergence.CHECKS)


def test_the_seed_start_has_a_plateau_that_stops_a_rule_without_patience():
    problem = seed.problem_2d()
    patient = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 5, 500)
    hasty = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 1, 500)
    assert len(hasty.log_likelihoods) < 5 and len(patient.log_likelihoods) > 30
    assert (patient.log_likelihoods[-1] - hasty.log_likelihoods[-1]) / len(problem.data) > 0.3


def test_scikit_learn_default_tolerance_stops_the_seed_start_on_the_plateau():
    problem = seed.problem_2d()
    mu, cov, pi = problem.start
    gm = GaussianMixture(
        2,
        covariance_type="full",
        tol=1e-3,
        reg_covar=0,
        max_iter=500,
        weights_init=pi,
        means_init=mu,
        precisions_init=np.linalg.inv(cov),
    ).fit(problem.data)
    converged = initialisation.fit_until_converged(problem.data, problem.start, 1e-6, 5, 500)
    assert gm.n_iter_ < 5
    assert gm.score(problem.data) < converged.log_likelihoods[-1] / len(problem.data) - 0.3


def test_reference_kmeans_plus_plus_never_repeats_a_point_and_prefers_far_ones():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0]])
    draws = [initialisation.kmeans_plus_plus(X, 2, np.random.default_rng(s)) for s in range(200)]
    assert all(tuple(first) != tuple(second) for first, second in draws)
    from_origin = [tuple(second) for first, second in draws if tuple(first) == (0.0, 0.0)]
    assert from_origin and from_origin.count((10.0, 0.0)) > 0.95 * len(from_origin)


def test_reference_runs_agree_with_the_e_and_m_steps():
    problem = seed.problem_2d()
    run = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 5, 500)
    fixed = multivariate.fit(problem.data, *problem.start, len(run.log_likelihoods))
    np.testing.assert_allclose(run.log_likelihoods, fixed.log_likelihoods)


def test_correct_answers_pass_every_check():
    assert failures(run_until_student_cell(fill_blanks(release(), CORRECT))) == {}


def test_blank_release_fails_every_check():
    assert set(failures(run_until_student_cell(release()))) == {c.__name__ for _, c in init_convergence.CHECKS}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_the_right_checks_with_their_id_and_no_other(name):
    changes, expected = WRONG[name]
    ns = run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes}))
    named = set()
    for _, check in init_convergence.CHECKS:
        try:
            check(ns)
        except CheckFailed as failure:
            named |= set(failure.diagnosis)
            if check.__name__ in expected:
                assert failure.diagnosis == (expected[check.__name__],), str(failure)
                assert hint(expected[check.__name__]) in str(failure)
        else:
            assert check.__name__ not in expected, f"{check.__name__} passed"
    assert named == set(expected.values())


def test_a_wrong_seeding_keeps_the_credit_of_the_runs():
    changes, _ = WRONG["distance not squared"]
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))
    assert set(failed) == {"check_kmeans_plus_plus"}


# --- every catalogued mistake as a function: its own id and no other, on the notebook's and on other inputs ---


def _seeding(distances, draw=None):
    """A kmeans_plus_plus whose D(x)^2 is ``distances(X, centers)`` and whose next centre is ``draw(rng, X, p)``."""

    def kmeans_plus_plus(X, K, rng):
        centers = [X[rng.integers(len(X))]]
        for _ in range(1, K):
            squared = distances(X, np.array(centers))
            probabilities = squared / squared.sum()
            centers.append(X[rng.choice(len(X), p=probabilities)] if draw is None else draw(X, squared))
        return np.array(centers)

    return kmeans_plus_plus


def _pairwise(X, centers):
    return ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)


SEEDINGS = {
    None: _seeding(lambda X, c: _pairwise(X, c).min(axis=1)),
    "kmeanspp-distance-not-squared": _seeding(lambda X, c: np.sqrt(_pairwise(X, c).min(axis=1))),
    "kmeanspp-distance-to-last-centre": _seeding(lambda X, c: _pairwise(X, c)[:, -1]),
    "kmeanspp-distance-summed-over-centres": _seeding(lambda X, c: _pairwise(X, c).sum(axis=1)),
    "kmeanspp-uniform-draws": _seeding(lambda X, c: np.ones(len(X))),
    "kmeanspp-farthest-point": _seeding(
        lambda X, c: _pairwise(X, c).min(axis=1), draw=lambda X, squared: X[np.argmax(squared)]
    ),
}


def _rule(gains_of, converged_of):
    def has_converged(log_likelihoods, n_samples, tol, patience):
        gains = gains_of(np.asarray(log_likelihoods, dtype=float), n_samples)
        return bool(converged_of(gains, tol, patience))

    return has_converged


def _per_sample(ll, n):
    return np.diff(ll) / n


RULES = {
    None: _rule(_per_sample, lambda g, tol, p: len(g) >= p and np.all(g[-p:] < tol)),
    "gain-not-per-sample": _rule(lambda ll, n: np.diff(ll), lambda g, tol, p: len(g) >= p and np.all(g[-p:] < tol)),
    "convergence-without-patience": _rule(_per_sample, lambda g, tol, p: len(g) >= 1 and g[-1] < tol),
    "patience-any-gain": _rule(_per_sample, lambda g, tol, p: len(g) >= p and np.any(g[-p:] < tol)),
    "patience-window-off-by-one": _rule(_per_sample, lambda g, tol, p: len(g) > p and np.all(g[-p - 1 :] < tol)),
    "patience-too-few-gains": _rule(_per_sample, lambda g, tol, p: np.all(g[-p:] < tol)),
}
#: Further ways of writing some of them (the window of patience - 1 gains; at least one gain).
MORE_RULES = [
    ("patience-window-off-by-one", _rule(_per_sample, lambda g, tol, p: len(g) >= p and np.all(g[-(p - 1) :] < tol))),
    ("patience-window-off-by-one", _rule(_per_sample, lambda g, tol, p: len(g) > p and np.all(g[-p:] < tol))),
    ("patience-too-few-gains", _rule(_per_sample, lambda g, tol, p: len(g) > 0 and np.all(g[-p:] < tol))),
]


def _choice(key):
    return lambda runs: max(runs, key=key)


CHOICES = {
    None: _choice(lambda run: run["log_likelihoods"][-1]),
    "best-run-lowest": lambda runs: min(runs, key=lambda run: run["log_likelihoods"][-1]),
    "best-run-first-value": _choice(lambda run: run["log_likelihoods"][0]),
    "best-run-most-iterations": _choice(lambda run: len(run["log_likelihoods"])),
    "best-run-index": lambda runs: int(np.argmax([run["log_likelihoods"][-1] for run in runs])),
}


def other_problem(seed_):
    """A problem like the hidden ones: other 2D data, other seeds for the made-up inputs."""
    from grader.assignments import draws

    rng = np.random.default_rng(seed_)
    data, _ = draws.two_clusters_2d(rng)
    _, start = draws.dirichlet_start_2d(data)
    seeds = [int(s) for s in rng.integers(2**31, size=7)]
    return init_convergence.Problem(data, start, None, seeds[0], tuple(seeds[1:5]), seeds[5], seeds[6])


PROBLEMS = [init_convergence.notebook_problem(), other_problem(1), other_problem(2), other_problem(3)]


def diagnosis(check, name, function, problem):
    """The ids ``check`` names for ``function`` as the student's ``name`` on ``problem``; None if it passes."""
    from grader.checks.core import INPUTS

    try:
        check({name: function, INPUTS: problem})
    except CheckFailed as failure:
        return failure.diagnosis
    return None


CASES = (
    [(init_convergence.check_kmeans_plus_plus, "kmeans_plus_plus", m, f) for m, f in SEEDINGS.items()]
    + [(init_convergence.check_has_converged, "has_converged", m, f) for m, f in [*RULES.items(), *MORE_RULES]]
    + [(init_convergence.check_best_run, "best_run", m, f) for m, f in CHOICES.items()]
)


@pytest.mark.parametrize("problem", range(len(PROBLEMS)), ids=["notebook", "other1", "other2", "other3"])
@pytest.mark.parametrize(
    "check, name, misconception, function", CASES, ids=[f"{c[1]}-{c[2] or 'correct'}-{i}" for i, c in enumerate(CASES)]
)
def test_each_mistake_is_named_by_its_own_id_only(check, name, misconception, function, problem):
    expected = None if misconception is None else (misconception,)
    assert diagnosis(check, name, function, PROBLEMS[problem]) == expected


def test_every_initialisation_id_is_tested_here():
    assert {c[2] for c in CASES} - {None} == {m.id for m in INITIALISATION}


def _answers(function, problem):
    """has_converged's answers on every case the check tries."""
    return [
        bool(function(list(h[:t]), n, tol, p))
        for h in init_convergence._sequences(problem.sequences_seed)
        for n, tol, p in init_convergence._rule_cases()
        for t in range(1, len(h) + 1)
    ]


def test_rules_that_agree_on_one_case_are_still_told_apart():
    # With patience = 1 a rule without patience is the rule; with patience = 2 so is a window of patience - 1.
    ll = list(-1500 + np.cumsum([0, 3, 0.1, 0.1, 0.1, 0.1]))
    assert RULES["convergence-without-patience"](ll, 300, 1e-3, 1) == RULES[None](ll, 300, 1e-3, 1)
    assert MORE_RULES[0][1](ll, 300, 1e-3, 2) == RULES["convergence-without-patience"](ll, 300, 1e-3, 2)
    # ... yet over all the check's cases no two catalogued rules (nor a rule and the right one) answer alike.
    answers = {(m, i): _answers(f, PROBLEMS[0]) for i, (m, f) in enumerate([*RULES.items(), *MORE_RULES])}
    for (m1, _i1), a1 in answers.items():
        for (m2, _i2), a2 in answers.items():
            if m1 != m2:
                assert a1 != a2, (m1, m2)


def test_seedings_that_agree_with_k_2_are_told_apart_by_k_3_and_5():
    X = PROBLEMS[0].data
    draw = {m: f(X, 2, np.random.default_rng(0)) for m, f in SEEDINGS.items()}
    assert np.array_equal(draw[None], draw["kmeanspp-distance-to-last-centre"])
    assert np.array_equal(draw[None], draw["kmeanspp-distance-summed-over-centres"])
    for misconception in ("kmeanspp-distance-to-last-centre", "kmeanspp-distance-summed-over-centres"):
        assert diagnosis(
            init_convergence.check_kmeans_plus_plus, "kmeans_plus_plus", SEEDINGS[misconception], PROBLEMS[0]
        ) == (misconception,)


def test_two_mistakes_at_once_match_no_known_mistake():
    both = _rule(lambda ll, n: np.diff(ll), lambda g, tol, p: len(g) >= 1 and g[-1] < tol)
    from grader.checks.core import INPUTS

    with pytest.raises(CheckFailed, match="matches no known mistake") as raised:
        init_convergence.check_has_converged({"has_converged": both, INPUTS: PROBLEMS[0]})
    assert raised.value.diagnosis == ()
    sqrt_last = _seeding(lambda X, c: np.sqrt(_pairwise(X, c)[:, -1]))
    assert diagnosis(init_convergence.check_kmeans_plus_plus, "kmeans_plus_plus", sqrt_last, PROBLEMS[0]) == ()


def test_messages_show_no_decimal_numbers():
    import re

    from grader.checks.core import INPUTS

    for check, name, _misconception, function in CASES:
        try:
            check({name: function, INPUTS: PROBLEMS[0]})
        except CheckFailed as failure:
            assert not re.findall(r"(?<!eq\. )(?<![\d.])\d+\.\d+", str(failure)), str(failure)


def test_a_missing_function_is_not_called_an_em_cell():
    for _, check in init_convergence.CHECKS:
        with pytest.raises(CheckFailed) as raised:
            check({})
        assert "EM cell" not in str(raised.value)
