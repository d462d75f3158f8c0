"""Checks for notebook 10: colour quantisation and image segmentation (PRML section 9.1.1).

The student writes ``squared_distances(X, centres)`` and ``assign(X, centres)``
(the terms of eq. 9.1 and the nearest centre of eq. 9.2), ``distortion(X,
centres, labels)`` (J, eq. 9.1), ``quantised_image(centres, labels, height,
width)`` (the image of PRML's Fig. 9.3), ``compression_ratio(n_pixels, K)``
(the bit counts of section 9.1.1) and ``gmm_segment(X, weights, means,
covariances)`` (a mixture's hard segmentation from log responsibilities,
eq. 9.23). Each is called on the notebook's pixels with centres, labels and
mixtures of the checks' own (drawn with ``cases_seed``) and compared with
:mod:`grader.em.segmentation`. The pixels, the image's shape, the numbers of
colours and that seed come from :func:`core.inputs`, so out of kernel the
same checks judge hidden images.

When a function is wrong, the catalogued mistakes of its blank
(:data:`grader.misconceptions.SEGMENTATION`, written out below as the code
that makes them) are computed on the very inputs the student's function was
called on; one is named only if it alone reproduces the student's values on
every one of them (:mod:`.candidates`). Centres are jittered off the 1/255
grid of the pixels, so no pixel is exactly as far from two centres and the
nearest centre is unique.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp

from ..em import segmentation as reference
from .candidates import Agreement, Ids, named, single_out
from .core import CheckFailed, Namespace, all_close, inputs, quiet
from .functions import array, call, defined, number, student_function
from .selfcheck import report

#: The notebook's photo, its downsampling step and its numbers of colours (PRML Fig. 9.3 uses 2, 3 and 10).
PHOTO, STEP, COMPONENTS = "china.jpg", 8, (2, 3, 10)
#: Numbers of centres the distance, assignment, distortion and quantisation checks try.
CENTRE_COUNTS = (2, 3, 5)
#: Numbers of components of the mixtures the segmentation check tries (the last one with tiny covariances).
MIXTURE_COUNTS = (2, 3, 4)
#: Standard deviation of the tiny-covariance mixture: most pixels' densities underflow to 0 outside log space.
TINY_SPREAD = 3e-3
#: Numbers of colours the compression check tries besides the problem's own: powers of 2 and others.
RATIO_COUNTS = (2, 3, 4, 5, 7, 8, 16, 17, 100, 256)
#: PRML's image in section 9.1.1: 240 x 180 pixels.
PRML_PIXELS = 240 * 180


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the pixels (N, 3) of a height x width image, numbers of colours, a seed.

    ``components`` are the numbers of colours the notebook quantises with
    (also tried by the compression check); ``cases_seed`` seeds the centres,
    labels and mixtures the functions are tried on (:func:`_centre_sets`,
    :func:`_mixtures`).
    """

    pixels: np.ndarray
    height: int
    width: int
    components: tuple[int, ...] = COMPONENTS
    cases_seed: int = 0

    @property
    def n_pixels(self) -> int:
        return self.height * self.width


def downsampled(photo: ArrayLike, step: int, top: int = 0, left: int = 0) -> np.ndarray:
    """Every ``step``-th pixel of ``photo`` (H, W, 3) bytes from (top, left), as colours in [0, 1]."""
    return np.asarray(photo)[top::step, left::step] / 255


def problem_of(image: np.ndarray, **kwargs: Any) -> Problem:
    """The :class:`Problem` of an image (height, width, 3) of colours in [0, 1]."""
    height, width, _ = image.shape
    pixels = np.ascontiguousarray(image.reshape(-1, 3), dtype=float)
    return Problem(pixels, height, width, **kwargs)


@functools.cache
def notebook_image() -> np.ndarray:
    """The notebook's downsampled photo (54, 80, 3), as its data cell makes it (read-only: it is shared)."""
    from sklearn.datasets import load_sample_image

    image = downsampled(load_sample_image(PHOTO), STEP)
    image.setflags(write=False)
    return image


def notebook_problem() -> Problem:
    """The notebook's own: scikit-learn's photo of a Chinese temple, every 8th pixel each way."""
    problem = problem_of(notebook_image())
    problem.pixels.setflags(write=False)
    return problem


def _problem(ns: Namespace) -> Problem:
    """The problem to judge against, after checking the namespace's ``pixels`` are its pixels."""
    problem = inputs(ns, notebook_problem)
    pixels = array(defined(ns, "pixels"), problem.pixels.shape, "`pixels`")
    if not all_close(pixels, problem.pixels):
        raise CheckFailed(
            "`pixels` are not the pixels the notebook's data cell makes: re-run the notebook from the top."
        )
    return problem


def _centre_sets(problem: Problem) -> list[np.ndarray]:
    """Centres (K, 3) for every K in CENTRE_COUNTS: pixels of the image, jittered off the 1/255 grid."""
    rng = np.random.RandomState(problem.cases_seed)
    X = problem.pixels
    return [
        np.clip(X[rng.choice(len(X), K, replace=False)] + rng.uniform(-0.02, 0.02, (K, 3)), 0.0, 1.0)
        for K in CENTRE_COUNTS
    ]


def _label_sets(problem: Problem) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centres, labels) pairs: every centre set with its nearest-centre labels, and with labels drawn at random."""
    rng = np.random.RandomState(problem.cases_seed + 1)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for centres in _centre_sets(problem):
        pairs.append((centres, reference.assign(problem.pixels, centres)))
        pairs.append((centres, rng.randint(len(centres), size=len(problem.pixels))))
    return pairs


def _covariance(rng: np.random.RandomState, spread: float) -> np.ndarray:
    """A random (3, 3) covariance whose standard deviations along its axes are about ``spread``."""
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return rotation @ np.diag((spread * rng.uniform(0.5, 1.5, 3)) ** 2) @ rotation.T


def _mixtures(problem: Problem) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(weights, means, covariances) of a few mixtures in colour space, the last with tiny covariances.

    The first have unequal weights, means at jittered pixels and spreads of a
    colour cluster's size; the last has means anywhere in the colour cube and
    covariances so small that most pixels' densities underflow to 0, which
    only log space survives.
    """
    rng = np.random.RandomState(problem.cases_seed + 2)
    X = problem.pixels
    mixtures: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for K in MIXTURE_COUNTS:
        means = np.clip(X[rng.choice(len(X), K, replace=False)] + rng.uniform(-0.02, 0.02, (K, 3)), 0.0, 1.0)
        spreads = rng.uniform(0.03, 0.15, K)
        mixtures.append((rng.dirichlet(np.full(K, 2.0)), means, np.array([_covariance(rng, s) for s in spreads])))
    K = MIXTURE_COUNTS[-1]
    means = rng.uniform(0.0, 1.0, (K, 3))
    mixtures.append(
        (rng.dirichlet(np.full(K, 2.0)), means, np.array([_covariance(rng, TINY_SPREAD) for _ in range(K)]))
    )
    return mixtures


def _ratio_cases(problem: Problem) -> list[tuple[int, int]]:
    """(n_pixels, K) pairs: the image's N with its own and other K, PRML's N, and one more N."""
    rng = np.random.RandomState(problem.cases_seed + 3)
    counts = sorted({*problem.components, *RATIO_COUNTS})
    other = int(rng.randint(1000, 100000))
    return [(n, K) for n in (problem.n_pixels, PRML_PIXELS, other) for K in counts]


def _numbers(value: object, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be numbers, but it is a {type(value).__name__}.") from None


def _spread_case(compute: Callable[..., Any]) -> Callable[[Sequence[Any]], Any]:
    """``compute`` called with the entries of a case (a tuple of arguments)."""
    return lambda case: compute(*case)


def _single_out(
    outcomes: Sequence[Any],
    cases: Sequence[Sequence[Any]],
    candidates: Iterable[tuple[Ids, Callable[..., Any]]],
    agree: Agreement = all_close,
) -> Ids | None:
    """:func:`candidates.single_out` for this module's candidates, ``compute(*case)``."""
    return single_out(
        outcomes,
        cases,
        [(ids, _spread_case(compute)) for ids, compute in candidates],
        lambda case: agree,
    )


def _equal(actual: ArrayLike, value: ArrayLike) -> bool:
    return bool(np.array_equal(actual, value))


def _fail(what: str, ids: Ids | None, advice: str) -> CheckFailed:
    """The failure ``what``, naming the mistake ``ids`` single out, or saying that they single out none."""
    if ids:
        return named(what, ids)
    return CheckFailed(f"{what}, and it matches no known mistake: {advice}")


# --- squared distances and the nearest centre (eq. 9.1 and eq. 9.2) --------------------------------------------


def _differences(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return X[:, None, :] - centres[None, :, :]


DISTANCE_CANDIDATES = [
    ((), lambda X, C: (_differences(X, C) ** 2).sum(axis=2)),
    (("colour-distance-not-squared",), lambda X, C: np.sqrt((_differences(X, C) ** 2).sum(axis=2))),
    (("colour-distance-square-of-sum",), lambda X, C: _differences(X, C).sum(axis=2) ** 2),
]

LABEL_CANDIDATES = [
    ((), lambda X, C: np.argmin(reference.squared_distances(X, C), axis=1)),
    (("colour-nearest-argmax",), lambda X, C: np.argmax(reference.squared_distances(X, C), axis=1)),
]


def _check_distances(ns: Namespace, cases: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    squared_distances = student_function(ns, "squared_distances")
    outcomes = [_numbers(call(squared_distances, X.copy(), C.copy()), "`squared_distances(...)`") for X, C in cases]
    expected = [reference.squared_distances(*case) for case in cases]
    if all(o.shape == e.shape and all_close(o, e) for o, e in zip(outcomes, expected)):
        return
    ids = _single_out(outcomes, cases, DISTANCE_CANDIDATES)
    actual, want = next((o, e) for o, e in zip(outcomes, expected) if o.shape != e.shape or not all_close(o, e))
    if actual.shape != want.shape:
        what = (
            f"`squared_distances(X, centres)` should have shape (N, K) = {want.shape}, but it has shape {actual.shape}"
        )
        raise named(what, ids) if ids else CheckFailed(what + ".")
    raise _fail(
        "`squared_distances` does not compute ||x_n - mu_k||^2, the squared distance of every pixel to every "
        "centre (eq. 9.1)",
        ids,
        "square the difference of each colour channel, then sum over the three channels.",
    )


def _nearest(X: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> bool:
    """Whether ``labels`` (N,) give every pixel a centre at the smallest squared distance, up to rounding."""
    distances = reference.squared_distances(X, centres)
    if labels.shape != (len(X),) or not np.all(labels == np.round(labels)):
        return False
    if np.any(labels < 0) or np.any(labels >= len(centres)):
        return False
    chosen = distances[np.arange(len(X)), labels.astype(int)]
    return bool(np.all(chosen <= distances.min(axis=1) + 1e-9))


def check_assign(ns: Namespace) -> None:
    """squared_distances equals ||x_n - mu_k||^2 (eq. 9.1); assign gives every pixel its nearest centre (eq. 9.2)."""
    with quiet():
        problem = _problem(ns)
        cases = [(problem.pixels, centres) for centres in _centre_sets(problem)]
        _check_distances(ns, cases)
        assign = student_function(ns, "assign")
        outcomes = [_numbers(call(assign, X.copy(), C.copy()), "`assign(...)`") for X, C in cases]
        if all(_nearest(X, C, labels) for (X, C), labels in zip(cases, outcomes)):
            return
        ids = _single_out(outcomes, cases, LABEL_CANDIDATES, _equal)
        shapes = [labels.shape for labels in outcomes if labels.shape != (len(problem.pixels),)]
        if shapes:
            what = (
                f"`assign(X, centres)` should have shape (N,) = {(len(problem.pixels),)}, but it has shape {shapes[0]}"
            )
            raise named(what, ids) if ids else CheckFailed(what + ": one centre index per pixel.")
        raise _fail(
            "`assign` does not give every pixel the index of its nearest centre (eq. 9.2)",
            ids,
            "take the index k of the smallest squared distance over the centres, for every pixel.",
        )


# --- the distortion J (eq. 9.1) ------------------------------------------------------------------------------


def _residuals(X: np.ndarray, C: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (X - C[labels]) ** 2


DISTORTION_CANDIDATES = [
    ((), lambda X, C, labels: np.sum(_residuals(X, C, labels))),
    (("distortion-mean",), lambda X, C, labels: np.sum(_residuals(X, C, labels)) / len(X)),
    (("distortion-mean",), lambda X, C, labels: np.mean(_residuals(X, C, labels))),
    (("distortion-all-centres",), lambda X, C, labels: np.sum(reference.squared_distances(X, C))),
]


def check_distortion(ns: Namespace) -> None:
    """J = sum_n ||x_n - mu_{labels[n]}||^2 (eq. 9.1) for nearest-centre labels and for arbitrary ones."""
    with quiet():
        problem = _problem(ns)
        distortion = student_function(ns, "distortion")
        cases = [(problem.pixels, C, labels) for C, labels in _label_sets(problem)]
        outcomes = [
            number(call(distortion, X.copy(), C.copy(), labels.copy()), "`distortion(...)`") for X, C, labels in cases
        ]
        if all(all_close(J, reference.distortion(*case)) for J, case in zip(outcomes, cases)):
            return
        ids = _single_out(outcomes, cases, DISTORTION_CANDIDATES)
        raise _fail(
            "`distortion` does not compute J = sum_n sum_k r_nk ||x_n - mu_k||^2 (eq. 9.1), where r_nk is 1 "
            "only for the centre k = labels[n] of pixel n",
            ids,
            "sum the squared distance of every pixel to its own centre.",
        )


# --- the quantised image ------------------------------------------------------------------------------------


QUANTISED_CANDIDATES = [
    ((), lambda C, labels, H, W: C[labels].reshape(H, W, 3)),
    (("quantised-transposed",), lambda C, labels, H, W: C[labels].reshape(W, H, 3)),
    (("quantised-transposed",), lambda C, labels, H, W: C[labels].reshape(W, H, 3).transpose(1, 0, 2)),
    (("quantised-labels-not-colours",), lambda C, labels, H, W: labels.reshape(H, W)),
]


def check_quantise(ns: Namespace) -> None:
    """The image of every pixel's centre colour, shape (height, width, 3), pixels in row-major order."""
    with quiet():
        problem = _problem(ns)
        quantised_image = student_function(ns, "quantised_image")
        H, W = problem.height, problem.width
        cases = [(C, labels, H, W) for C, labels in _label_sets(problem)]
        outcomes = [
            _numbers(call(quantised_image, C.copy(), labels.copy(), H, W), "`quantised_image(...)`")
            for C, labels, H, W in cases
        ]
        expected = [reference.quantised_image(*case) for case in cases]
        if all(o.shape == e.shape and all_close(o, e) for o, e in zip(outcomes, expected)):
            return
        ids = _single_out(outcomes, cases, QUANTISED_CANDIDATES)
        shapes = [o.shape for o in outcomes if o.shape != (H, W, 3)]
        if shapes:
            what = (
                f"`quantised_image(centres, labels, height, width)` should have shape (height, width, 3) = "
                f"{(H, W, 3)}, but it has shape {shapes[0]}"
            )
            raise named(what, ids) if ids else CheckFailed(what + ".")
        raise _fail(
            "`quantised_image` does not paint every pixel in the colour of its centre, centres[labels[n]], "
            "at its place in the image",
            ids,
            "the pixels are the image's rows one after another, as pixels = image.reshape(-1, 3) made them.",
        )


# --- bits and the compression ratio (PRML section 9.1.1) -------------------------------------------------------


def _ratio(
    label_bits: Callable[[int], Any], centre_bits: int = 24, pixel_bits: int = 24
) -> Callable[[int, int], float]:
    return lambda n, K: (n * label_bits(K) + centre_bits * K) / (pixel_bits * n)


RATIO_CANDIDATES = [
    ((), _ratio(lambda K: np.ceil(np.log2(K)))),
    (("bits-not-rounded-up",), _ratio(np.log2)),
    (("bits-not-rounded-up",), _ratio(lambda K: np.floor(np.log2(K)))),
    (("bits-natural-log",), _ratio(lambda K: np.ceil(np.log(K)))),
    (("bits-natural-log", "bits-not-rounded-up"), _ratio(np.log)),
    (("bits-centres-missing",), _ratio(lambda K: np.ceil(np.log2(K)), centre_bits=0)),
    (("bits-8-per-pixel",), _ratio(lambda K: np.ceil(np.log2(K)), pixel_bits=8)),
    (("bits-8-per-pixel",), _ratio(lambda K: np.ceil(np.log2(K)), centre_bits=8, pixel_bits=8)),
]


def check_compression(ns: Namespace) -> None:
    """(N ceil(log2 K) + 24 K) / (24 N) for the image's N and PRML's, for K a power of 2 and not."""
    with quiet():
        problem = _problem(ns)
        compression_ratio = student_function(ns, "compression_ratio")
        cases = _ratio_cases(problem)
        outcomes = [number(call(compression_ratio, n, K), f"`compression_ratio({n}, {K})`") for n, K in cases]
        expected = [reference.compression_ratio(*case) for case in cases]
        off = [case for case, ratio, want in zip(cases, outcomes, expected) if not all_close(ratio, want)]
        if not off:
            return
        ids = _single_out(outcomes, cases, RATIO_CANDIDATES)
        n, K = off[0]
        raise _fail(
            f"`compression_ratio` is wrong for N = {n} pixels and K = {K} colours: the quantised image takes "
            "ceil(log2 K) bits per pixel for its label and 24 bits for each centre, the raw image 24 bits per "
            "pixel (PRML section 9.1.1)",
            ids,
            "write the two bit counts out and divide the quantised one by the raw one.",
        )


# --- the mixture's segmentation (eq. 9.23 in log space) --------------------------------------------------------


def _log_density(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    return reference.estimate_log_gaussian_prob(X, means, covariances)


def _underflowing(X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Labels from responsibilities computed outside log space: a pixel whose densities all underflow gets 0."""
    density = weights * np.exp(_log_density(X, means, covariances))
    return np.argmax(np.log(density / density.sum(axis=1, keepdims=True)), axis=1)


def _wrong_axis(X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    weighted = np.log(weights) + _log_density(X, means, covariances)
    return np.argmax(weighted - logsumexp(weighted, axis=0, keepdims=True), axis=1)


SEGMENT_CANDIDATES = [
    ((), reference.segment),
    (("segment-weights-missing",), lambda X, weights, means, cov: np.argmax(_log_density(X, means, cov), axis=1)),
    (("segment-logsumexp-wrong-axis",), _wrong_axis),
    (("segment-exp-underflow",), _underflowing),
]


def _most_responsible(case: Sequence[np.ndarray], labels: np.ndarray) -> bool:
    """Whether ``labels`` (N,) give every pixel a component of the largest responsibility, up to rounding."""
    X, weights = case[0], case[1]
    log_resp = reference.log_responsibilities(*case)
    if labels.shape != (len(X),) or not np.all(labels == np.round(labels)):
        return False
    if np.any(labels < 0) or np.any(labels >= len(weights)):
        return False
    chosen = log_resp[np.arange(len(X)), labels.astype(int)]
    best = log_resp.max(axis=1)
    return bool(np.all(chosen >= best - 1e-9 * (1 + np.abs(best))))


def check_segment(ns: Namespace) -> None:
    """gmm_segment gives every pixel its most responsible component (eq. 9.23), also where densities underflow."""
    with quiet():
        problem = _problem(ns)
        gmm_segment = student_function(ns, "gmm_segment")
        cases = [(problem.pixels, *mixture) for mixture in _mixtures(problem)]
        outcomes = [_numbers(call(gmm_segment, *(a.copy() for a in case)), "`gmm_segment(...)`") for case in cases]
        if all(_most_responsible(case, labels) for case, labels in zip(cases, outcomes)):
            return
        ids = _single_out(outcomes, cases, SEGMENT_CANDIDATES, _equal)
        shapes = [labels.shape for labels in outcomes if labels.shape != (len(problem.pixels),)]
        if shapes:
            what = f"`gmm_segment(...)` should have shape (N,) = {(len(problem.pixels),)}, but it has shape {shapes[0]}"
            raise named(what, ids) if ids else CheckFailed(what + ".")
        raise _fail(
            "`gmm_segment` does not give every pixel the component of its largest responsibility "
            "gamma(z_nk) (eq. 9.23)",
            ids,
            "log_resp is ln pi_k + ln N(x_n | mu_k, Sigma_k) minus its logsumexp over the components k.",
        )


def distinguishes(problem: Problem) -> bool:
    """Whether every catalogued mistake gives other values than the reference on ``problem``'s cases.

    A hidden problem must let each mistake show: e.g. a square image hides a
    transposed reshape, a mixture whose densities never underflow hides the
    missing log space.
    """
    with quiet():
        X = problem.pixels
        groups: list[tuple[Sequence[Sequence[Any]], Sequence[tuple[Ids, Callable[..., Any]]], Agreement]] = [
            ([(X, C) for C in _centre_sets(problem)], DISTANCE_CANDIDATES, all_close),
            ([(X, C) for C in _centre_sets(problem)], LABEL_CANDIDATES, _equal),
            ([(X, C, labels) for C, labels in _label_sets(problem)], DISTORTION_CANDIDATES, all_close),
            (
                [(C, labels, problem.height, problem.width) for C, labels in _label_sets(problem)],
                QUANTISED_CANDIDATES,
                all_close,
            ),
            (_ratio_cases(problem), RATIO_CANDIDATES, all_close),
            ([(X, *mixture) for mixture in _mixtures(problem)], SEGMENT_CANDIDATES, _equal),
        ]
        for cases, candidates, agree in groups:
            (_, correct), *mistakes = candidates
            right = [correct(*case) for case in cases]
            for _, compute in mistakes:
                values = [compute(*case) for case in cases]
                if all(np.shape(v) == np.shape(r) and agree(v, r) for v, r in zip(values, right)):
                    return False
    return True


CHECKS = [
    ("Squared distances and the nearest centre (eq. 9.1 and eq. 9.2)", check_assign),
    ("Distortion J (eq. 9.1)", check_distortion),
    ("Quantised image: every pixel in its centre's colour", check_quantise),
    ("Compression ratio (PRML section 9.1.1)", check_compression),
    ("Mixture segmentation by the largest responsibility (eq. 9.23 in log space)", check_segment),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your k-means and mixture quantise and segment the photo.")
