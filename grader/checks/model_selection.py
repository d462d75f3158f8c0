"""Checks for notebook 06 (covariance types, parameter counts, BIC and AIC).

The student writes ``n_parameters(covariance_type, K, D)``, ``bic(log_likelihood,
n_params, n_samples)`` and ``aic(log_likelihood, n_params)``. The counts are
compared with :mod:`grader.em.model_selection` over a grid of K and D; the
criteria with scikit-learn's ``GaussianMixture.bic``/``aic`` on mixtures fitted
to the notebook's Old Faithful data, given the correct parameter count so that
a wrong count costs only the count's points. The grid, the data and the probe
the criteria's invariants are tried at come from :func:`core.inputs`, so out
of kernel the same checks judge hidden ones.
"""

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.mixture import GaussianMixture

from ..em import model_selection as reference
from ..misconceptions import hint
from .core import CheckFailed, Namespace, all_close, inputs, quiet
from .functions import array, call, defined, number, student_function
from .selfcheck import report

COMPONENTS = range(1, 7)
FEATURES = range(1, 6)
#: Mixtures the criteria are checked on: every covariance type with these K.
FITTED_COMPONENTS = (1, 2, 3)
#: (log-likelihood, M, N) at which the criteria must fall with the fit and grow with M.
PROBE = (-500.0, 10, 300)


@dataclass(frozen=True)
class Problem:
    """What the checks judge against.

    ``components`` and ``features`` (increasing) are the grid of K and D the
    counts are compared on; ``data`` (N, D) the points the mixtures with
    ``fitted_components`` are fitted to for the criteria, ``data_name`` what
    the messages call them; ``probe`` the (log-likelihood, M, N) of the
    invariants.
    """

    components: tuple[int, ...]
    features: tuple[int, ...]
    data: np.ndarray
    data_name: str
    fitted_components: tuple[int, ...]
    probe: tuple[float, int, int]


def notebook_problem(path: str | os.PathLike[str] = "old_faithful.csv") -> Problem:
    """The notebook's own: the grid K <= 6, D <= 5 and Old Faithful, read as its data cell reads it.

    In the kernel ``path`` is the file next to the notebook, as for the data cell.
    """
    try:
        faithful = np.loadtxt(path, delimiter=",", skiprows=1)
    except OSError:
        raise CheckFailed(
            f"{path} is not next to this notebook: the checks read the data from it, as the data "
            "cell does. Keep the assignment's files together."
        ) from None
    return Problem(tuple(COMPONENTS), tuple(FEATURES), faithful, "the Old Faithful data", FITTED_COMPONENTS, PROBE)


# --- parameter counts --------------------------------------------------------------------

#: (catalogue id, or None for the right count; count(K, D)) of each part of n_parameters.
MEANS = [
    (None, lambda K, D: K * D),
    ("means-missing-from-count", lambda K, D: 0),
    ("means-one-entry-each", lambda K, D: K),
]
WEIGHTS = [
    (None, lambda K, D: K - 1),
    ("weights-all-counted", lambda K, D: K),
    ("weights-missing-from-count", lambda K, D: 0),
]
COVARIANCES = {
    "full": [
        (None, lambda K, D: K * D * (D + 1) // 2),
        ("covariance-entries-not-symmetric", lambda K, D: K * D * D),
        ("covariance-diagonal-missing", lambda K, D: K * (D * (D - 1) // 2)),
        ("covariance-not-per-component", lambda K, D: D * (D + 1) // 2),
    ],
    "diag": [
        (None, lambda K, D: K * D),
        ("covariance-not-per-component", lambda K, D: D),
        ("diagonal-counted-as-full", lambda K, D: K * D * (D + 1) // 2),
    ],
    "tied": [
        (None, lambda K, D: D * (D + 1) // 2),
        ("tied-counted-per-component", lambda K, D: K * D * (D + 1) // 2),
        ("covariance-entries-not-symmetric", lambda K, D: D * D),
        ("covariance-diagonal-missing", lambda K, D: D * (D - 1) // 2),
    ],
    "spherical": [
        (None, lambda K, D: K),
        ("spherical-counted-as-diagonal", lambda K, D: K * D),
        ("covariance-not-per-component", lambda K, D: 1),
    ],
}


def _grid(problem: Problem, function: Callable[[int, int], float]) -> np.ndarray:
    """``function(K, D)`` over the checked grid, shape (len(components), len(features))."""
    return np.array([[function(K, D) for D in problem.features] for K in problem.components], dtype=float)


def _other_counts(ns: Namespace, problem: Problem, judged: str, counts: np.ndarray) -> dict[str, np.ndarray]:
    """{covariance type: the student's counts} for every type: the judged one given, the others where they compute."""
    totals = {judged: counts}
    for covariance_type in reference.COVARIANCE_TYPES:
        if covariance_type not in totals:
            try:
                totals[covariance_type] = _student_counts(ns, problem, covariance_type)
            except CheckFailed:
                continue
    return totals


def _diagnose_count(problem: Problem, judged: str, totals: Mapping[str, np.ndarray]) -> tuple[str, ...]:
    """The catalogue ids that explain ``totals[judged]``, or () unless exactly one explanation fits best.

    The means and the weights are one shared part of every type's count, so
    the student's counts of all four types are explained together: each
    choice of the means' and the weights' count (right or catalogued) is
    scored by the number of types whose totals it explains with one of that
    type's covariance counts. The best-scoring choices must agree on the ids
    for the judged type. A covariance that misses its diagonal (K D fewer)
    and means that are missing (also K D fewer) give the same "full" count;
    only the other types' counts tell them apart.
    """
    explanations: list[tuple[int, tuple[str, ...] | None]] = []
    for mean_id, means in MEANS:
        for weight_id, weights in WEIGHTS:
            shared = _grid(problem, lambda K, D: means(K, D) + weights(K, D))  # noqa: B023 -- used right away
            found = {
                covariance_type: [
                    cov_id
                    for cov_id, cov in COVARIANCES[covariance_type]
                    if np.array_equal(counts, shared + _grid(problem, cov))
                ]
                for covariance_type, counts in totals.items()
            }
            explained = sum(1 for ids in found.values() if ids)
            if found[judged]:
                ids = tuple(sorted({i for i in (mean_id, weight_id, found[judged][0]) if i}))
                explanations.append((explained, ids))
            else:
                explanations.append((explained, None))
    best = max(score for score, _ in explanations)
    named = {ids for score, ids in explanations if score == best}
    if best == 0 or len(named) != 1:
        return ()
    (chosen,) = named
    return chosen or ()


def _student_counts(ns: Namespace, problem: Problem, covariance_type: str) -> np.ndarray:
    function = student_function(ns, "n_parameters")

    def count(K: int, D: int) -> float:
        value = number(call(function, covariance_type, K, D), f"n_parameters({covariance_type!r}, {K}, {D})")
        if value != round(value):
            raise CheckFailed(
                f"n_parameters({covariance_type!r}, {K}, {D}) is not a whole number: "
                "a parameter count counts free entries."
            )
        return value

    return _grid(problem, count)


def check_n_parameters(ns: Namespace, covariance_types: Iterable[str] = reference.COVARIANCE_TYPES) -> None:
    """n_parameters matches means + weights + covariance entries over the grid (K in 1..6, D in 1..5 in the kernel).

    A wrong count is named as catalogued mistakes only when one explanation
    of the counts of all four types fits best (see :func:`_diagnose_count`).
    """
    with quiet():
        problem = inputs(ns, notebook_problem)
        diagnosed = []  # (message, ids) of the judged types whose wrong counts are diagnosed
        for covariance_type in covariance_types:
            counts = _student_counts(ns, problem, covariance_type)
            call_text = f"n_parameters({covariance_type!r}, K, D)"
            expected = _grid(problem, lambda K, D: reference.n_parameters(covariance_type, K, D))  # noqa: B023
            if np.array_equal(counts, expected):
                continue
            first = np.argwhere(counts != expected)[0]
            K, D = problem.components[first[0]], problem.features[first[1]]
            wrong = (
                f"{call_text} is not the number of free parameters of a {covariance_type!r} mixture "
                f"(first wrong at K = {K}, D = {D})"
            )
            ids = _diagnose_count(problem, covariance_type, _other_counts(ns, problem, covariance_type, counts))
            if ids:
                diagnosed.append((f"{wrong}: " + " ".join(hint(i) for i in ids), ids))
                continue
            if np.any(counts < 1):
                raise CheckFailed(
                    f"{call_text} is zero or negative for some K and D: every mixture has at least "
                    "a mean and a variance."
                )
            if np.any(np.diff(counts, axis=0) <= 0):
                raise CheckFailed(
                    f"{call_text} does not grow with K: each extra component brings its own mean and weight."
                )
            raise CheckFailed(
                f"{wrong}, and it matches no known mistake: count the free entries of the means, the weights and "
                "the covariances term by term (the table above says what each type stores; remember symmetry and "
                "that the weights sum to 1, eq. 9.9)."
            )
        if diagnosed:
            ids = tuple(dict.fromkeys(i for _, type_ids in diagnosed for i in type_ids))
            raise CheckFailed(" ".join(message for message, _ in diagnosed), ids)


# --- information criteria ---------------------------------------------------------------


def fitted(problem: Problem) -> list[tuple[str, int, float, float, float]]:
    """(covariance type, K, total log-likelihood, sklearn bic, sklearn aic) of the mixtures fitted to the data.

    Cached by content: the fits are the slow part, and every submission of a
    class is judged on the same data.
    """
    X = np.ascontiguousarray(problem.data, dtype=float)
    return _fitted(X.tobytes(), X.shape, tuple(problem.fitted_components))


@lru_cache(maxsize=4)
def _fitted(
    data_bytes: bytes, shape: tuple[int, ...], components: tuple[int, ...]
) -> list[tuple[str, int, float, float, float]]:
    X = np.frombuffer(data_bytes).reshape(shape)
    fits = []
    for covariance_type in reference.COVARIANCE_TYPES:
        for K in components:
            model = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
            fits.append((covariance_type, K, model.score(X) * len(X), model.bic(X), model.aic(X)))
    return fits


def _criterion_cases(ns: Namespace, problem: Problem) -> list[tuple[float, int, int, float, float]]:
    """(log-likelihood, n_params, N, sklearn bic, sklearn aic) for mixtures fitted to the data ``faithful`` holds."""
    X = array(defined(ns, "faithful"), problem.data.shape, "`faithful` (the Old Faithful data loaded at the top)")
    if not all_close(X, problem.data):
        raise CheckFailed("`faithful` is not the data the notebook loads: re-run the notebook from the top.")
    n_samples, n_features = problem.data.shape
    return [
        (log_lik, reference.n_parameters(covariance_type, K, n_features), n_samples, bic, aic)
        for covariance_type, K, log_lik, bic, aic in fitted(problem)
    ]


#: name -> (formula as the student reads it, sklearn value index,
#: [(catalogue id, wrong formula (log-likelihood, M, N) -> value)]).
CRITERIA = {
    "bic": (
        "-2 ln p(X | theta) + M ln N (PRML eq. 4.139 times -2)",
        3,
        [
            ("criterion-halved", lambda ll, M, N: -ll + M * np.log(N) / 2),
            ("criterion-prml-sign", lambda ll, M, N: ll - M * np.log(N) / 2),
            ("criterion-loglik-sign", lambda ll, M, N: 2 * ll + M * np.log(N)),
            ("criterion-loglik-not-doubled", lambda ll, M, N: -ll + M * np.log(N)),
            ("criterion-penalty-factor", lambda ll, M, N: -2 * ll + M * np.log(N) / 2),
            ("criterion-penalty-sign", lambda ll, M, N: -2 * ll - M * np.log(N)),
            ("bic-penalty-of-aic", lambda ll, M, N: -2 * ll + 2 * M),
            ("bic-log10", lambda ll, M, N: -2 * ll + M * np.log10(N)),
            ("bic-penalty-without-log", lambda ll, M, N: -2 * ll + M * N),
        ],
    ),
    "aic": (
        "-2 ln p(X | theta) + 2 M (PRML eq. 1.73 times -2)",
        4,
        [
            ("criterion-halved", lambda ll, M, N: -ll + M),
            ("criterion-prml-sign", lambda ll, M, N: ll - M),
            ("criterion-loglik-sign", lambda ll, M, N: 2 * ll + 2 * M),
            ("criterion-loglik-not-doubled", lambda ll, M, N: -ll + 2 * M),
            ("criterion-penalty-factor", lambda ll, M, N: -2 * ll + M),
            ("criterion-penalty-sign", lambda ll, M, N: -2 * ll - 2 * M),
        ],
    ),
}


def _student_criterion(ns: Namespace, name: str, log_lik: float, n_params: int, n_samples: int) -> float:
    """The student's ``bic(log_lik, n_params, n_samples)`` or ``aic(log_lik, n_params)``."""
    args = (log_lik, n_params, n_samples) if name == "bic" else (log_lik, n_params)
    return number(call(student_function(ns, name), *args), f"The value returned by `{name}`")


def _diagnosis_cases(probe: tuple[float, int, int]) -> list[tuple[float, int, int]]:
    """(log-likelihood, M, N) around the probe where every two catalogued formulas differ.

    Two log-likelihoods at one M, two M at one log-likelihood and a second N:
    the formulas are a ln p + b M f(N) with different (a, b f(N)) at each N.
    """
    log_lik, n_params, n_samples = probe
    return [
        probe,
        (log_lik + 10, n_params, n_samples),
        (log_lik, n_params + 1, n_samples),
        (2 * log_lik - 37.5, 2 * n_params + 3, 3 * n_samples + 11),
    ]


def _recognised(ns: Namespace, name: str, problem: Problem) -> tuple[str, list[str]]:
    """The end of a failure message: the one catalogued formula the student's reproduces at every case, if any."""
    cases = _diagnosis_cases(problem.probe)
    try:
        values = [_student_criterion(ns, name, *case) for case in cases]
    except CheckFailed:
        values = None
    matching = {
        misconception
        for misconception, wrong in CRITERIA[name][2]
        if values is not None and all(all_close([value], [wrong(*case)]) for value, case in zip(values, cases))
    }
    if len(matching) == 1:
        (misconception,) = matching
        return f": {hint(misconception)}", [misconception]
    return "; it matches no known mistake, so compare your line with it term by term.", []


def check_criterion(ns: Namespace, name: str) -> None:
    """``bic`` or ``aic``: lower for a better fit, higher for more parameters; equal to scikit-learn's.

    A wrong formula is named only if one catalogued formula reproduces the
    student's values at every one of :func:`_diagnosis_cases`.
    """
    formula, sklearn_index, _ = CRITERIA[name]
    label = name.upper()
    with quiet():
        problem = inputs(ns, notebook_problem)
        probe = problem.probe
        base = _student_criterion(ns, name, *probe)
        if not _student_criterion(ns, name, probe[0] + 10, *probe[1:]) < base:
            ending, ids = _recognised(ns, name, problem)
            raise CheckFailed(
                f"The {label} does not decrease when the log-likelihood increases, but a better fit "
                f"must score lower. The {label} is {formula}" + ending,
                ids,
            )
        if not _student_criterion(ns, name, probe[0], probe[1] + 1, probe[2]) > base:
            ending, ids = _recognised(ns, name, problem)
            raise CheckFailed(
                f"The {label} does not increase with the number of parameters M, but the penalty "
                f"must grow with M. The {label} is {formula}" + ending,
                ids,
            )
        for case in _criterion_cases(ns, problem):
            actual = _student_criterion(ns, name, *case[:3])
            if not all_close([actual], [case[sklearn_index]]):
                ending, ids = _recognised(ns, name, problem)
                raise CheckFailed(
                    f"{name}(...) differs from scikit-learn's GaussianMixture.{name} on a mixture fitted to "
                    f"{problem.data_name}. The {label} is {formula}" + ending,
                    ids,
                )


def check_bic(ns: Namespace) -> None:
    check_criterion(ns, "bic")


def check_aic(ns: Namespace) -> None:
    check_criterion(ns, "aic")


CHECKS = [
    ("Parameter count, full and diagonal covariances", lambda ns: check_n_parameters(ns, ("full", "diag"))),
    ("Parameter count, tied and spherical covariances", lambda ns: check_n_parameters(ns, ("tied", "spherical"))),
    ("BIC equals scikit-learn's GaussianMixture.bic", check_bic),
    ("AIC equals scikit-learn's GaussianMixture.aic", check_aic),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your counts and criteria match scikit-learn.")
