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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.mixture import GaussianMixture

from ..em import model_selection as reference
from .core import CheckFailed, all_close, inputs, quiet
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

    components: tuple
    features: tuple
    data: np.ndarray
    data_name: str
    fitted_components: tuple
    probe: tuple


def notebook_problem(path="old_faithful.csv"):
    """The notebook's own: the grid K <= 6, D <= 5 and Old Faithful, read as its data cell reads it.

    In the kernel ``path`` is the file next to the notebook, as for the data cell.
    """
    try:
        faithful = np.loadtxt(path, delimiter=",", skiprows=1)
    except OSError:
        raise CheckFailed(f"{path} is not next to this notebook: the checks read the data from it, as the data "
                          "cell does. Keep the assignment's files together.") from None
    return Problem(tuple(COMPONENTS), tuple(FEATURES), faithful, "the Old Faithful data", FITTED_COMPONENTS, PROBE)


# --- parameter counts --------------------------------------------------------------------

def _count_mistakes(covariance_type):
    """(what the student did, wrong covariance count (K, D) -> int) for a covariance type."""
    symmetric = "a symmetric D x D covariance matrix has D(D+1)/2 free entries, not D^2"
    return {
        "full": [(symmetric, lambda K, D: K * D * D),
                 ("each component has its own full matrix: K D(D+1)/2 entries, not one shared matrix",
                  lambda K, D: D * (D + 1) // 2)],
        "diag": [("each component has its own D variances: K D in total, not D",
                  lambda K, D: D),
                 ("a diagonal covariance has only the D variances on its diagonal, not a full matrix",
                  lambda K, D: K * D * (D + 1) // 2)],
        "tied": [("a tied covariance is ONE matrix shared by all K components: D(D+1)/2 entries, not K times that",
                  lambda K, D: K * D * (D + 1) // 2),
                 (symmetric, lambda K, D: D * D)],
        "spherical": [("a spherical covariance sigma_k^2 I has one variance per component: K in total, not K D",
                       lambda K, D: K * D),
                      ("each component has its own variance sigma_k^2: K in total, not 1",
                       lambda K, D: 1)],
    }[covariance_type]


PIECE_MISTAKES = [
    ("the K mixing weights sum to 1, so only K - 1 of them are free", lambda K, D: +1),
    ("the K - 1 free mixing weights are missing from the count", lambda K, D: -(K - 1)),
    ("the K D entries of the means are missing from the count", lambda K, D: -K * D),
    ("each of the K means has D entries: K D in total", lambda K, D: K - K * D),
]


def _grid(problem, function):
    """``function(K, D)`` over the checked grid, shape (len(components), len(features))."""
    return np.array([[function(K, D) for D in problem.features] for K in problem.components], dtype=float)


def _diagnose_count(problem, covariance_type, counts):
    """Explanations of every catalogued mistake (alone or paired) that reproduces ``counts`` on the grid."""
    correct_cov = lambda K, D: reference.n_covariance_parameters(covariance_type, K, D)  # noqa: E731
    cov_options = [((), correct_cov)] + [((text,), wrong) for text, wrong in _count_mistakes(covariance_type)]
    piece_options = [((), lambda K, D: 0)] + [((text,), shift) for text, shift in PIECE_MISTAKES]
    explanations = []
    for cov_text, cov in cov_options:
        for piece_text, shift in piece_options:
            wrong = _grid(problem, lambda K, D: K * D + K - 1 + cov(K, D) + shift(K, D))
            if (cov_text or piece_text) and np.array_equal(counts, wrong):
                explanations.append(" and ".join(cov_text + piece_text))
    return explanations


def _student_counts(ns, problem, covariance_type):
    function = student_function(ns, "n_parameters")

    def count(K, D):
        value = number(call(function, covariance_type, K, D), f"n_parameters({covariance_type!r}, {K}, {D})")
        if value != round(value):
            raise CheckFailed(f"n_parameters({covariance_type!r}, {K}, {D}) is not a whole number: "
                              "a parameter count counts free entries.")
        return value

    return _grid(problem, count)


def check_n_parameters(ns, covariance_types=reference.COVARIANCE_TYPES, invariants_only=False):
    """n_parameters matches means + weights + covariance entries over the grid (K in 1..6, D in 1..5 in the kernel)."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        for covariance_type in covariance_types:
            counts = _student_counts(ns, problem, covariance_type)
            call_text = f"n_parameters({covariance_type!r}, K, D)"
            if np.any(counts < 1):
                raise CheckFailed(f"{call_text} is zero or negative for some K and D: every mixture has at least "
                                  "a mean and a variance.")
            if np.any(np.diff(counts, axis=0) <= 0):
                raise CheckFailed(f"{call_text} does not grow with K: each extra component brings its own mean and "
                                  "weight.")
            if invariants_only:
                continue
            expected = _grid(problem, lambda K, D: reference.n_parameters(covariance_type, K, D))
            if np.array_equal(counts, expected):
                continue
            mistakes = _diagnose_count(problem, covariance_type, counts)
            first = np.argwhere(counts != expected)[0]
            K, D = problem.components[first[0]], problem.features[first[1]]
            raise CheckFailed(
                f"{call_text} is not the number of free parameters of a {covariance_type!r} mixture "
                f"(first wrong at K = {K}, D = {D}): "
                + (("either " if len(mistakes) > 1 else "") + "; or ".join(mistakes) + "." if mistakes else
                   "count the free entries of the means, the weights and the covariances term by term (the table above "
                   "says what each type stores; remember symmetry and that the weights sum to 1)."))


# --- information criteria ---------------------------------------------------------------

def fitted(problem):
    """(covariance type, K, total log-likelihood, sklearn bic, sklearn aic) of the mixtures fitted to the data.

    Cached by content: the fits are the slow part, and every submission of a
    class is judged on the same data.
    """
    X = np.ascontiguousarray(problem.data, dtype=float)
    return _fitted(X.tobytes(), X.shape, tuple(problem.fitted_components))


@lru_cache(maxsize=4)
def _fitted(data_bytes, shape, components):
    X = np.frombuffer(data_bytes).reshape(shape)
    fits = []
    for covariance_type in reference.COVARIANCE_TYPES:
        for K in components:
            model = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
            fits.append((covariance_type, K, model.score(X) * len(X), model.bic(X), model.aic(X)))
    return fits


def _criterion_cases(ns, problem):
    """(log-likelihood, n_params, N, sklearn bic, sklearn aic) for mixtures fitted to the data ``faithful`` holds."""
    X = array(defined(ns, "faithful"), problem.data.shape, "`faithful` (the Old Faithful data loaded at the top)")
    if not all_close(X, problem.data):
        raise CheckFailed("`faithful` is not the data the notebook loads: re-run the notebook from the top.")
    n_samples, n_features = problem.data.shape
    return [(log_lik, reference.n_parameters(covariance_type, K, n_features), n_samples, bic, aic)
            for covariance_type, K, log_lik, bic, aic in fitted(problem)]


#: name -> (formula as the student reads it, sklearn value index, catalogued wrong formulas)
CRITERIA = {
    "bic": ("-2 ln p(X | theta) + M ln N (PRML eq. 4.139 times -2)", 3, [
        ("this is half the BIC: multiply -ln p(X | theta) + (M/2) ln N by 2",
         lambda ll, M, N: -ll + M * np.log(N) / 2),
        ("this is PRML's form of eq. (4.139), where higher is better: scikit-learn's BIC is that times -2",
         lambda ll, M, N: ll - M * np.log(N) / 2),
        ("the log-likelihood enters with -2: -2 ln p(X | theta), so a better fit lowers the BIC",
         lambda ll, M, N: 2 * ll + M * np.log(N)),
        ("the penalty 2M belongs to the AIC; the BIC's penalty is M ln N",
         lambda ll, M, N: -2 * ll + 2 * M),
        ("ln N is the natural logarithm: np.log, not np.log10",
         lambda ll, M, N: -2 * ll + M * np.log10(N)),
        ("the penalty is M ln N, not M N",
         lambda ll, M, N: -2 * ll + M * N),
    ]),
    "aic": ("-2 ln p(X | theta) + 2 M (PRML eq. 1.73 times -2)", 4, [
        ("this is half the AIC: multiply -ln p(X | theta) + M by 2",
         lambda ll, M, N: -ll + M),
        ("this is PRML's form of eq. (1.73), where higher is better: scikit-learn's AIC is that times -2",
         lambda ll, M, N: ll - M),
        ("the log-likelihood enters with -2: -2 ln p(X | theta), so a better fit lowers the AIC",
         lambda ll, M, N: 2 * ll + 2 * M),
        ("the penalty M ln N belongs to the BIC; the AIC's penalty is 2M",
         lambda ll, M, N: -2 * ll + M * np.log(N)),
        ("the AIC's penalty is 2M, twice the number of parameters",
         lambda ll, M, N: -2 * ll + M),
    ]),
}


def _student_criterion(ns, name, log_lik, n_params, n_samples):
    """The student's ``bic(log_lik, n_params, n_samples)`` or ``aic(log_lik, n_params)``."""
    args = (log_lik, n_params, n_samples) if name == "bic" else (log_lik, n_params)
    return number(call(student_function(ns, name), *args), f"The value returned by `{name}`")


def _recognised(name, actual, log_lik, n_params, n_samples):
    """The end of a failure message: what the first catalogued wrong formula reproducing ``actual`` did."""
    for text, wrong in CRITERIA[name][2]:
        if all_close([actual], [wrong(log_lik, n_params, n_samples)]):
            return f": {text}."
    return "; compare your line with it term by term."


def check_criterion(ns, name, invariants_only=False):
    """``bic`` or ``aic``: lower for a better fit, higher for more parameters; equal to scikit-learn's."""
    formula, sklearn_index, _ = CRITERIA[name]
    label = name.upper()
    with quiet():
        problem = inputs(ns, notebook_problem)
        probe = problem.probe
        base = _student_criterion(ns, name, *probe)
        if not _student_criterion(ns, name, probe[0] + 10, *probe[1:]) < base:
            raise CheckFailed(f"The {label} does not decrease when the log-likelihood increases, but a better fit "
                              f"must score lower. The {label} is {formula}" + _recognised(name, base, *probe))
        if not _student_criterion(ns, name, probe[0], probe[1] + 1, probe[2]) > base:
            raise CheckFailed(f"The {label} does not increase with the number of parameters M, but the penalty "
                              f"must grow with M. The {label} is {formula}" + _recognised(name, base, *probe))
        if invariants_only:
            return
        for case in _criterion_cases(ns, problem):
            actual = _student_criterion(ns, name, *case[:3])
            if not all_close([actual], [case[sklearn_index]]):
                raise CheckFailed(
                    f"{name}(...) differs from scikit-learn's GaussianMixture.{name} on a mixture fitted to "
                    f"{problem.data_name}. The {label} is {formula}" + _recognised(name, actual, *case[:3]))


def check_bic(ns, invariants_only=False):
    check_criterion(ns, "bic", invariants_only)


def check_aic(ns, invariants_only=False):
    check_criterion(ns, "aic", invariants_only)


CHECKS = [
    ("Parameter count, full and diagonal covariances", lambda ns: check_n_parameters(ns, ("full", "diag"))),
    ("Parameter count, tied and spherical covariances", lambda ns: check_n_parameters(ns, ("tied", "spherical"))),
    ("BIC equals scikit-learn's GaussianMixture.bic", check_bic),
    ("AIC equals scikit-learn's GaussianMixture.aic", check_aic),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your counts and criteria match scikit-learn.")
