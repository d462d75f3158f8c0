"""Checks for notebook 11: a Gaussian mixture as a density, a generator and an anomaly detector.

The student writes ``log_density(X, means, covariances, weights)`` (eq. 9.7
in logs), ``bic(log_likelihood, n_components, n_features, n_samples)`` for a
full-covariance mixture (PRML eq. 4.139 times -2, as in notebook 06),
``sample_mixture(n_samples, means, covariances, weights, rng)`` (ancestral
sampling, PRML section 8.1.2) and ``anomalies(log_p, percentile)`` (the
threshold at a percentile of the log densities, PDSH section 05.12).

The log density and the BIC are compared with :mod:`grader.em.density` and
scikit-learn's ``GaussianMixture.bic`` on mixtures fitted to the notebook's
data (and the log density also far from every component, where densities
underflow). Sampling is random, so its checks never ask for the reference's
numbers: they draw many points with a generator of their own from a made-up
mixture, ask that the same generator state give the same draws, and test the
component frequencies and each component's sample mean and covariance against
the mixture within stated statistical tolerances. Data, fitted sizes, the
made-up mixture, the percentiles and the generator's seed come from
:func:`core.inputs`, so out of kernel the same checks judge hidden ones.

A wrong answer is named as a catalogued mistake
(:data:`grader.misconceptions.DENSITY`, and notebook 06's entries for the
BIC) only when that mistake alone reproduces it on every case
(:mod:`grader.checks.candidates`); for sampling, "reproduces" means the draws
are statistically consistent with what the mistaken code draws.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp
from scipy.stats import chi2

from ..em import density as reference
from ..em import multivariate
from .candidates import Agreement, Ids, named, single_out, singled_out
from .core import CheckFailed, Namespace, all_close, inputs, quiet
from .functions import array, call, defined, number, student_function
from .selfcheck import report

#: The notebook's data: scikit-learn's two moons.
N_SAMPLES, NOISE, DATA_SEED = 300, 0.07, 0
#: Mixture sizes fitted to the data for the log density, the BIC and the anomaly checks.
FITTED_COMPONENTS = (2, 5, 8)
#: Percentiles the anomaly threshold is checked at.
PERCENTILES = (4, 10)
#: Seed of the generator that draws the notebook's made-up mixture and of the sampling checks' generators.
CASES_SEED = 11
#: Points drawn from the made-up mixture by each call of the student's sampler.
N_DRAWS = 6000
#: Components drawn fewer times than this are not judged on their mean and covariance.
MIN_DRAWS = 50
#: A correct sampler fails a frequency or covariance test with probability about 1e-8 per entry:
#: |frequency - pi_k| <= Z sd and |W - I| <= Z sqrt(2 / N_k) for the whitened sample covariance W.
Z = 6.0
#: The mean test: N_k (m_k - mu_k)^T Sigma_k^-1 (m_k - mu_k) below the chi-square quantile at 1 - MEAN_LEVEL.
MEAN_LEVEL = 1e-9


@dataclass(frozen=True)
class Problem:
    """What the checks judge against.

    ``data`` (N, D) is what the data cell defines as ``X`` (``data_name`` in
    messages); mixtures with ``fitted_components`` components are fitted to
    it; ``mixture`` is the (means (K, D), covariances (K, D, D), weights (K,))
    the sampler is tried on; ``percentiles`` the anomaly percentiles;
    ``cases_seed`` seeds the sampling checks' generators.
    """

    data: np.ndarray
    data_name: str
    fitted_components: tuple[int, ...]
    mixture: tuple[np.ndarray, np.ndarray, np.ndarray]
    percentiles: tuple[float, ...]
    cases_seed: int


# --- the inputs --------------------------------------------------------------------------------------------------


def moons(n_samples: int = N_SAMPLES, noise: float = NOISE, random_state: int = DATA_SEED) -> np.ndarray:
    """(N, 2): scikit-learn's two interleaved half circles, as the data cell makes them."""
    from sklearn.datasets import make_moons

    return make_moons(n_samples=n_samples, noise=noise, random_state=random_state)[0]


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def wrong_covariances(covariance: np.ndarray) -> dict[str, np.ndarray]:
    """{misconception id: the covariance a sampler with that mistake draws with} for one Sigma_k."""
    chol = np.linalg.cholesky(covariance)
    return {"sampling-covariance-as-scale": covariance @ covariance.T, "sampling-cholesky-transposed": chol.T @ chol}


def whitened_gap(covariance: np.ndarray, other: np.ndarray) -> float:
    """max |L^-1 other L^-T - I| for Sigma = L L^T: how far ``other`` is from ``covariance``, in its own units."""
    chol = np.linalg.cholesky(covariance)
    solved = np.linalg.solve(chol, np.linalg.solve(chol, other).T)
    return float(np.max(np.abs(solved - np.eye(len(covariance)))))


def _distinguishable(covariance: np.ndarray, gap: float = 0.8) -> bool:
    """Whether the draws of every catalogued sampling mistake differ from correct ones by far more than noise."""
    return all(
        min(whitened_gap(covariance, other), whitened_gap(other, covariance)) >= gap
        for other in wrong_covariances(covariance).values()
    )


def made_up_mixture(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means (K, 2), covariances (K, 2, 2), weights (K,)) for the sampling checks, K in 2..4.

    Tilted, elongated components (standard deviations 0.06-0.42, at least
    twice as long as wide, like the components fitted to the moons), weights of at least 0.15 and at least 0.1 away
    from 1/K somewhere: so that a uniform choice of components, a covariance
    used as a scale and a transposed Cholesky factor are each far outside
    the tolerances of a correct sampler's statistics.
    """
    while True:
        n_components = int(rng.integers(2, 5))
        weights = rng.dirichlet(np.full(n_components, 4.0))
        if weights.min() < 0.15 or np.max(np.abs(weights - 1 / n_components)) < 0.1:
            continue
        components: list[np.ndarray] = []
        for _ in range(n_components):
            wide = rng.uniform(0.06, 0.12)
            spread = np.diag([rng.uniform(2.0, 3.5) * wide, wide]) ** 2
            rotation = _rotation(rng.uniform(np.pi / 8, 3 * np.pi / 8) + rng.choice([0.0, np.pi / 2]))
            components.append(rotation @ spread @ rotation.T)
        covariances = np.array(components)
        if all(_distinguishable(c) for c in covariances):
            means = rng.uniform(-3.0, 3.0, size=(n_components, 2))
            return means, covariances, weights


@functools.cache
def notebook_problem() -> Problem:
    """The notebook's own: the two moons of its data cell, and a made-up mixture drawn from CASES_SEED."""
    data = moons()
    mixture = made_up_mixture(np.random.default_rng(CASES_SEED))
    for a in (data, *mixture):
        a.setflags(write=False)
    return Problem(data, "the two moons", FITTED_COMPONENTS, mixture, PERCENTILES, CASES_SEED)


def _problem(ns: Namespace) -> Problem:
    """The problem to judge against, after checking that the namespace's ``X`` is its data."""
    problem = inputs(ns, notebook_problem)
    X = array(defined(ns, "X"), problem.data.shape, "`X`")
    if not all_close(X, problem.data):
        raise CheckFailed("`X` is not the data the notebook generates: re-run the notebook from the top.")
    return problem


@dataclass(frozen=True)
class Fit:
    """A full-covariance mixture scikit-learn fitted to the data, with its total log-likelihood and BIC."""

    n_components: int
    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray
    log_likelihood: float
    bic: float


def fitted(problem: Problem) -> list[Fit]:
    """The :class:`Fit` of every size in ``problem.fitted_components`` (cached by content)."""
    X = np.ascontiguousarray(problem.data, dtype=float)
    return _fitted(X.tobytes(), X.shape, tuple(problem.fitted_components))


@functools.lru_cache(maxsize=8)
def _fitted(data_bytes: bytes, shape: tuple[int, ...], components: tuple[int, ...]) -> list[Fit]:
    from sklearn.mixture import GaussianMixture

    X = np.frombuffer(data_bytes).reshape(shape)
    fits: list[Fit] = []
    for K in components:
        model = GaussianMixture(K, covariance_type="full", init_params="k-means++", random_state=0).fit(X)
        for a in (model.means_, model.covariances_, model.weights_):
            a.setflags(write=False)
        fits.append(
            Fit(K, model.means_, model.covariances_, model.weights_, float(model.score(X) * len(X)), model.bic(X))
        )
    return fits


def far_points(data: np.ndarray) -> np.ndarray:
    """(2 D + 1, D) points 30 spreads away from the data's centre, where every component's density underflows."""
    n_features = data.shape[1]
    directions = np.vstack([np.eye(n_features), -np.eye(n_features), np.ones((1, n_features)) / np.sqrt(n_features)])
    return data.mean(axis=0) + 30 * data.std(axis=0).max() * directions


def _numbers(value: object, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be numbers, but it is a {type(value).__name__}.") from None


def _copies(*arrays: ArrayLike) -> tuple[np.ndarray, ...]:
    """Writable copies: the student's function may change its arguments in place."""
    return tuple(np.array(a, dtype=float) for a in arrays)


def _spread_case(compute: Callable[..., Any]) -> Callable[[Sequence[Any]], Any]:
    """``compute`` called with the entries of a case (a tuple of arguments)."""
    return lambda case: compute(*case)


def _single_out(
    outcomes: Sequence[Any], cases: Sequence[Sequence[Any]], candidates: Iterable[tuple[Ids, Callable[..., Any]]]
) -> Ids | None:
    """:func:`candidates.single_out` for candidates ``compute(*case)``, agreeing up to rounding."""
    return single_out(
        outcomes,
        cases,
        [(ids, _spread_case(compute)) for ids, compute in candidates],
        lambda case: all_close,
    )


# --- the log density -----------------------------------------------------------------------------------------


def _log_gauss(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """ln N(x_n | mu_k, Sigma_k), shape (N, K): the given line of ``log_density``."""
    return multivariate.estimate_weighted_log_prob(X, means, covariances, np.ones(len(means)))


def _density_candidate(
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, np.ndarray, np.ndarray, ArrayLike], np.ndarray]:
    def compute(X: np.ndarray, means: np.ndarray, covariances: np.ndarray, weights: ArrayLike) -> np.ndarray:
        return combine(_log_gauss(X, means, covariances), np.asarray(weights, dtype=float))

    return compute


DENSITY_CANDIDATES = [
    ((), _density_candidate(lambda lg, w: logsumexp(np.log(w) + lg, axis=1))),
    (("density-max-not-logsumexp",), _density_candidate(lambda lg, w: np.max(np.log(w) + lg, axis=1))),
    (("density-sum-of-logs",), _density_candidate(lambda lg, w: np.sum(np.log(w) + lg, axis=1))),
    (("density-weights-missing",), _density_candidate(lambda lg, w: logsumexp(lg, axis=1))),
    (("density-weights-missing",), _density_candidate(lambda lg, w: logsumexp(w + lg, axis=1))),
    (("density-exp-underflow",), _density_candidate(lambda lg, w: np.log(np.sum(w * np.exp(lg), axis=1)))),
]


def _density_cases(problem: Problem) -> list[tuple[np.ndarray, ...]]:
    """(points, means, covariances, weights): the data and the far points under every fitted mixture."""
    return [
        (points, *_copies(fit.means, fit.covariances, fit.weights))
        for fit in fitted(problem)
        for points in (np.array(problem.data, dtype=float), far_points(problem.data))
    ]


def check_log_density(ns: Namespace) -> None:
    """ln p(x_n) of eq. (9.7) in logs, equal to the reference (and scikit-learn's score_samples), also far away."""
    with quiet():
        problem = _problem(ns)
        log_density = student_function(ns, "log_density")
        cases = _density_cases(problem)
        outcomes = [_numbers(call(log_density, *case), "`log_density(...)`") for case in cases]
        expected = [reference.log_density(*case) for case in cases]
        if all(o.shape == e.shape and all_close(o, e) for o, e in zip(outcomes, expected)):
            return
        where = next(
            "far from every component" if i % 2 else f"on {problem.data_name}"
            for i, (o, e) in enumerate(zip(outcomes, expected))
            if not (o.shape == e.shape and all_close(o, e))
        )
        ids = _single_out(outcomes, cases, DENSITY_CANDIDATES)
        what = (
            f"`log_density` is not ln p(x) = logsumexp_k [ln pi_k + ln N(x | mu_k, Sigma_k)] (eq. 9.7 in logs) {where}"
        )
        if ids:
            raise named(what, ids)
        (o, e) = next((o, e) for o, e in zip(outcomes, expected) if not (o.shape == e.shape and all_close(o, e)))
        if o.shape != e.shape:
            raise CheckFailed(f"`log_density(...)` should have shape {e.shape} (one value per point), not {o.shape}.")
        if not np.all(np.isfinite(o)):
            raise CheckFailed(
                f"`log_density(...)` has NaN or infinite values {where}, and they match no known mistake: "
                "stay in log space (eq. 9.7 in logs), a log density is finite everywhere."
            )
        raise CheckFailed(what + ", and it matches no known mistake: compare your line with the equation term by term.")


# --- the BIC --------------------------------------------------------------------------------------------------

#: (catalogue id or None, M(K, D)) of a full-covariance mixture.
COUNTS = [
    (None, lambda K, D: K * D + (K - 1) + K * D * (D + 1) // 2),
    ("covariance-entries-not-symmetric", lambda K, D: K * D + (K - 1) + K * D * D),
    ("weights-all-counted", lambda K, D: K * D + K + K * D * (D + 1) // 2),
]
#: (catalogue id or None, BIC(log-likelihood, M, N)).
FORMULAS = [
    (None, lambda ll, M, N: -2 * ll + M * np.log(N)),
    ("criterion-loglik-sign", lambda ll, M, N: 2 * ll + M * np.log(N)),
    ("bic-log-n-missing", lambda ll, M, N: -2 * ll + M),
]


def _bic_candidate(
    count: Callable[[int, int], int], formula: Callable[[float, int, int], float]
) -> Callable[[float, int, int, int], float]:
    return lambda ll, K, D, N: formula(ll, count(K, D), N)


BIC_CANDIDATES = [
    (tuple(sorted(i for i in (count_id, formula_id) if i)), _bic_candidate(count, formula))
    for count_id, count in COUNTS
    for formula_id, formula in FORMULAS
]


def check_bic(ns: Namespace) -> None:
    """bic(...) equals scikit-learn's GaussianMixture.bic of mixtures fitted to the data, given their log-likelihood.

    A wrong value is diagnosed on the fitted cases and on made-up ones that
    change the log-likelihood, K, D and N, where every two catalogued
    formulas and counts differ.
    """
    with quiet():
        problem = _problem(ns)
        bic = student_function(ns, "bic")
        n_samples, n_features = problem.data.shape
        fits = fitted(problem)
        cases = [(fit.log_likelihood, fit.n_components, n_features, n_samples) for fit in fits]
        values = [number(call(bic, *case), "The value returned by `bic`") for case in cases]
        wrong = [fit.n_components for fit, value in zip(fits, values) if not all_close([value], [fit.bic])]
        if not wrong:
            return
        ll, K, D, N = cases[0]
        cases += [(ll + 10.0, K, D, N), (2 * ll - 37.5, K + 2, D + 1, 2 * N + 7), (ll, K + 1, D, N)]
        outcomes = [np.asarray(value, dtype=float) for value in values]
        outcomes += [_numbers(call(bic, *case), "The value returned by `bic`") for case in cases[len(fits) :]]
        ids = _single_out(outcomes, cases, BIC_CANDIDATES)
        what = (
            f"`bic(...)` differs from scikit-learn's GaussianMixture.bic for K = {wrong[0]} fitted to "
            f"{problem.data_name}. The BIC is -2 ln p(X | theta) + M ln N (PRML eq. 4.139 times -2), with "
            "M = K D + (K - 1) + K D (D + 1) / 2 free parameters for full covariances (notebook 06)"
        )
        if ids:
            raise named(what, ids)
        raise CheckFailed(what + "; it matches no known mistake, so compare your lines with it term by term.")


# --- sampling -------------------------------------------------------------------------------------------------


def _draw(
    sample_mixture: Callable[..., Any], mixture: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(samples, labels) of one call on a fresh generator seeded ``seed``, as float arrays, shapes checked."""
    means, covariances, weights = mixture
    result = call(sample_mixture, N_DRAWS, *_copies(means, covariances, weights), np.random.default_rng(seed))
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed("`sample_mixture(...)` should return two arrays, `samples, labels`.")
    samples = _numbers(result[0], "The samples of `sample_mixture(...)`")
    labels = _numbers(result[1], "The labels of `sample_mixture(...)`")
    if samples.shape != (N_DRAWS, means.shape[1]):
        raise CheckFailed(
            f"The samples of `sample_mixture({N_DRAWS}, ...)` should have shape {(N_DRAWS, means.shape[1])}, "
            f"not {samples.shape}."
        )
    if labels.shape != (N_DRAWS,):
        raise CheckFailed(
            f"The labels of `sample_mixture({N_DRAWS}, ...)` should have shape {(N_DRAWS,)}, not {labels.shape}."
        )
    if not np.all(np.isfinite(samples)):
        raise CheckFailed("The samples of `sample_mixture(...)` contain NaN or infinite values.")
    return samples, labels


def _draws(ns: Namespace, problem: Problem, part: str) -> tuple[np.ndarray, np.ndarray]:
    """The student's (samples, labels) from the problem's mixture; ``part`` of them must repeat for one seed."""
    sample_mixture = student_function(ns, "sample_mixture")
    first = _draw(sample_mixture, problem.mixture, problem.cases_seed)
    again = _draw(sample_mixture, problem.mixture, problem.cases_seed)
    index = 0 if part == "samples" else 1
    if not np.array_equal(first[index], again[index]):
        raise named(
            f"`sample_mixture` gives other {part} for the same generator state: all its randomness must come "
            "from `rng`",
            ("sampling-ignores-rng",),
        )
    return first


def _valid_labels(labels: np.ndarray, n_components: int) -> bool:
    return bool(np.all(labels == np.round(labels)) and np.all((labels >= 0) & (labels < n_components)))


def _frequencies_agree(n_draws: int) -> Agreement:
    def agree(frequencies: np.ndarray, probabilities: np.ndarray) -> bool:
        spread = np.sqrt(probabilities * (1 - probabilities) / n_draws)
        return bool(np.all(np.abs(frequencies - probabilities) <= Z * spread + 1e-12))

    return agree


def check_sample_components(ns: Namespace) -> None:
    """The components of the draws: chosen with probabilities pi_k, from ``rng`` (same state, same labels)."""
    with quiet():
        problem = _problem(ns)
        _, labels = _draws(ns, problem, "labels")
        weights = np.asarray(problem.mixture[2], dtype=float)
        n_components = len(weights)
        if not _valid_labels(labels, n_components):
            raise CheckFailed(
                f"The labels of `sample_mixture(...)` should be component indices 0 to K - 1 (here K = {n_components})."
            )
        frequencies = np.bincount(labels.astype(int), minlength=n_components) / N_DRAWS
        candidates = [((), [weights]), (("sampling-uniform-components",), [np.full(n_components, 1 / n_components)])]
        candidates += [(("sampling-single-component",), [np.eye(n_components)[k]]) for k in range(n_components)]
        ids = singled_out([frequencies], candidates, [_frequencies_agree(N_DRAWS)])
        if ids == ():
            return
        what = (
            f"In {N_DRAWS} draws the components are not chosen with the probabilities pi_k: ancestral sampling "
            "(PRML section 8.1.2) first draws each point's component z_n with p(z_n = k) = pi_k (eq. 9.10)"
        )
        if ids:
            raise named(what, ids)
        raise CheckFailed(what + ", and the frequencies match no known mistake.")


def _component_statistics(
    samples: np.ndarray, labels: np.ndarray, n_components: int
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """[(k, N_k, sample mean, unbiased sample covariance)] of the components drawn at least MIN_DRAWS times."""
    out: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for k in range(n_components):
        points = samples[labels == k]
        if len(points) >= MIN_DRAWS:
            out.append((k, len(points), points.mean(axis=0), np.cov(points, rowvar=False)))
    return out


def _moments_agree(n_draws: int, n_features: int) -> Agreement:
    """Whether a component's (mean, covariance) from N_k draws is consistent with a model (mean, covariance)."""
    mean_limit = chi2.isf(MEAN_LEVEL, n_features)

    def agree(actual: np.ndarray, model: np.ndarray) -> bool:
        mean, covariance = actual[:n_features], actual[n_features:].reshape(n_features, n_features)
        model_mean, model_covariance = model[:n_features], model[n_features:].reshape(n_features, n_features)
        chol = np.linalg.cholesky(model_covariance)
        offset = np.linalg.solve(chol, mean - model_mean)
        whitened = np.linalg.solve(chol, np.linalg.solve(chol, covariance).T)
        return bool(
            n_draws * offset @ offset <= mean_limit
            and np.max(np.abs(whitened - np.eye(n_features))) <= Z * np.sqrt(2 / n_draws)
        )

    return agree


def _wrong_covariance(misconception: str) -> Callable[[np.ndarray], np.ndarray]:
    """Sigma_k -> the covariance a sampler with ``misconception`` draws with."""
    return lambda covariance: wrong_covariances(covariance)[misconception]


def check_sample_points(ns: Namespace) -> None:
    """Each component's draws: mean mu_k and covariance Sigma_k within tolerances, from ``rng``."""
    with quiet():
        problem = _problem(ns)
        samples, labels = _draws(ns, problem, "samples")
        means, covariances, weights = (np.asarray(a, dtype=float) for a in problem.mixture)
        n_features = means.shape[1]
        statistics = _component_statistics(samples, labels, len(weights)) if _valid_labels(labels, len(weights)) else []
        if not statistics:
            raise CheckFailed(
                "The labels of `sample_mixture(...)` do not say which component drew each point: "
                "fix the components check first."
            )
        outcomes = [np.concatenate([mean, covariance.ravel()]) for _, _, mean, covariance in statistics]
        agreements = [_moments_agree(n_k, n_features) for _, n_k, _, _ in statistics]

        def model(covariance_of: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
            return [np.concatenate([means[k], covariance_of(covariances[k]).ravel()]) for k, _, _, _ in statistics]

        candidates: list[tuple[Ids, list[np.ndarray]]] = [((), model(lambda c: c))]
        candidates += [
            ((misconception,), model(_wrong_covariance(misconception)))
            for misconception in wrong_covariances(covariances[0])
        ]
        ids = singled_out(outcomes, candidates, agreements)
        if ids == ():
            return
        what = (
            "The points drawn from component k do not have mean mu_k and covariance Sigma_k: ancestral sampling "
            "draws x_n from N(mu_k, Sigma_k) of its component (PRML section 8.1.2), and with Sigma_k = L_k L_k^T "
            "(Cholesky) and z_n standard normal, mu_k + L_k z_n has covariance Sigma_k"
        )
        if ids:
            raise named(what, ids)
        raise CheckFailed(what + "; the draws match no known mistake.")


# --- anomalies ------------------------------------------------------------------------------------------------

#: (catalogue id or None, threshold(log_p, percentile)).
THRESHOLDS = [
    (None, lambda lp, p: np.percentile(lp, p)),
    ("anomaly-wrong-tail", lambda lp, p: np.percentile(lp, 100 - p)),
    ("anomaly-density-units", lambda lp, p: np.percentile(np.exp(lp), p)),
    ("anomaly-percentile-as-fraction", lambda lp, p: np.percentile(lp, p / 100)),
]
#: (catalogue id or None, flagged(log_p, threshold)): below the threshold (a tie either way) is right.
SIDES = [
    (None, lambda lp, t: lp < t),
    (None, lambda lp, t: lp <= t),
    ("anomaly-flagged-above", lambda lp, t: lp > t),
    ("anomaly-flagged-above", lambda lp, t: lp >= t),
]


def _anomaly_candidate(
    threshold_of: Callable[[np.ndarray, float], Any], side: Callable[[np.ndarray, Any], np.ndarray]
) -> Callable[[np.ndarray, float], np.ndarray]:
    def compute(log_p: np.ndarray, percentile: float) -> np.ndarray:
        threshold = threshold_of(log_p, percentile)
        return np.concatenate([[threshold], side(log_p, threshold).astype(float)])

    return compute


ANOMALY_CANDIDATES = [
    (tuple(sorted(i for i in (threshold_id, side_id) if i)), _anomaly_candidate(threshold_of, side))
    for threshold_id, threshold_of in THRESHOLDS
    for side_id, side in SIDES
]


def _anomaly_cases(problem: Problem) -> list[tuple[np.ndarray, float]]:
    """(log densities of the data under a fitted mixture, percentile) for every fit and percentile."""
    return [
        (reference.log_density(problem.data, fit.means, fit.covariances, fit.weights), float(percentile))
        for fit in fitted(problem)
        for percentile in problem.percentiles
    ]


def _anomaly_outcome(anomalies: Callable[..., Any], log_p: np.ndarray, percentile: float) -> np.ndarray:
    """The student's (threshold, flagged) as one array [threshold, flagged as 0/1 ...]."""
    result = call(anomalies, log_p.copy(), percentile)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed("`anomalies(...)` should return two values, `threshold, flagged`.")
    threshold = number(result[0], "The threshold of `anomalies(...)`")
    flagged = _numbers(result[1], "The flagged points of `anomalies(...)`")
    if flagged.shape != log_p.shape:
        raise CheckFailed(
            f"The flagged points of `anomalies(...)` should have shape {log_p.shape} (one per point), "
            f"not {flagged.shape}."
        )
    if not np.all((flagged == 0) | (flagged == 1)):
        raise CheckFailed("The flagged points of `anomalies(...)` should be True or False for every point.")
    return np.concatenate([[threshold], flagged])


def check_anomalies(ns: Namespace) -> None:
    """The threshold is the percentile of the log densities, the flagged points those below it (PDSH section 05.12)."""
    with quiet():
        problem = _problem(ns)
        anomalies = student_function(ns, "anomalies")
        cases = _anomaly_cases(problem)
        outcomes = [_anomaly_outcome(anomalies, *case) for case in cases]
        correct = [compute for ids, compute in ANOMALY_CANDIDATES if ids == ()]
        if all(any(all_close(o, compute(*case)) for compute in correct) for o, case in zip(outcomes, cases)):
            return
        ids = _single_out(outcomes, cases, ANOMALY_CANDIDATES)
        what = (
            "`anomalies(log_p, percentile)` should return the percentile-th percentile of the log densities "
            "ln p(x_n) as the threshold and flag the points whose log density lies below it, the least likely "
            "points (PDSH section 05.12)"
        )
        if ids:
            raise named(what, ids)
        raise CheckFailed(what + "; it matches no known mistake.")


CHECKS = [
    ("Log density log_density (eq. 9.7 in logs)", check_log_density),
    ("BIC of a full-covariance mixture (eq. 4.139 times -2)", check_bic),
    ("Sampling: components chosen with probabilities pi_k", check_sample_components),
    ("Sampling: each component's points from N(mu_k, Sigma_k)", check_sample_points),
    ("Anomalies below a percentile of the log densities", check_anomalies),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your mixture is a density, a generator and an anomaly detector.")
