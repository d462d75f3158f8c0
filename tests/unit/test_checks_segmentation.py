"""Notebook 10's reference against scikit-learn, and its checks on answers typed into the release, run in-process."""

import contextlib
import io
import math

import nbformat
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from grader.assignments import default_registry
from grader.checks import segmentation
from grader.course import DEFAULT_ROOT, Course
from grader.em import segmentation as reference
from grader.misconceptions import SEGMENTATION
from grader.samples import MUTANTS, fill_blanks
from tests.support.notebook_runs import failure_messages, hidden_inputs, run_cells

ASSIGNMENT = "10_image_segmentation"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPEC = default_registry()[ASSIGNMENT]
CHECK_FUNCTIONS = [check for _, check in segmentation.CHECKS]
ASSIGN, DISTORTION, QUANTISE, COMPRESSION, SEGMENT = (check.__name__ for check in CHECK_FUNCTIONS)

#: Agreement with scikit-learn: the same arithmetic in another order, so rounding only (values of order 1-1e3).
SKLEARN_RTOL = 1e-10


def pixels():
    return segmentation.notebook_problem().pixels


def distinct_pixels(X, K, seed):
    """K pixels of distinct colours: a start from which no k-means cluster is empty."""
    rng = np.random.default_rng(seed)
    while True:
        start = X[rng.choice(len(X), K, replace=False)]
        if len(np.unique(start, axis=0)) == K:
            return start


# --- the reference against scikit-learn (an independent implementation) --------------------------------------


@pytest.mark.parametrize("K", [2, 3, 10])
def test_reference_lloyd_matches_scikit_learn_kmeans_from_the_same_start(K):
    X = pixels()
    start = distinct_pixels(X, K, seed=K)
    centres, labels, distortions = reference.lloyd(X, start, 30)
    model = KMeans(K, init=start, n_init=1, algorithm="lloyd", max_iter=30, tol=0).fit(X)
    np.testing.assert_allclose(centres, model.cluster_centers_, rtol=SKLEARN_RTOL, atol=1e-12)
    np.testing.assert_array_equal(labels, model.labels_)
    assert reference.distortion(X, centres, labels) == pytest.approx(model.inertia_, rel=SKLEARN_RTOL)
    assert np.all(np.diff(distortions) <= 1e-9), "Lloyd's steps never increase J (PRML section 9.1)"


def test_reference_distances_match_scikit_learn_and_a_direct_loop():
    from sklearn.metrics import pairwise_distances

    X, centres = pixels(), distinct_pixels(pixels(), 5, seed=0)
    expected = pairwise_distances(X, centres, metric="sqeuclidean")
    np.testing.assert_allclose(reference.squared_distances(X, centres), expected, rtol=SKLEARN_RTOL, atol=1e-12)
    loop = np.array([[sum((x[c] - m[c]) ** 2 for c in range(3)) for m in centres] for x in X[:50]])
    np.testing.assert_allclose(reference.squared_distances(X[:50], centres), loop, rtol=1e-13)


@pytest.mark.parametrize("K", [2, 3, 10])
def test_reference_segmentation_matches_scikit_learn_gaussian_mixture(K):
    X = pixels()
    model = GaussianMixture(K, covariance_type="full", random_state=0).fit(X)
    params = (model.weights_, model.means_, model.covariances_)
    log_resp = reference.log_responsibilities(X, *params)
    np.testing.assert_array_equal(reference.segment(X, *params), model.predict(X))
    probabilities = model.predict_proba(X)
    shown = probabilities > 1e-250  # where the log of scikit-learn's probabilities is finite
    np.testing.assert_allclose(log_resp[shown], np.log(probabilities[shown]), rtol=SKLEARN_RTOL, atol=1e-9)
    weighted = np.log(model.weights_) + reference.estimate_log_gaussian_prob(X, model.means_, model.covariances_)
    log_lik = np.logaddexp.reduce(weighted, axis=1)
    np.testing.assert_allclose(log_lik, model.score_samples(X), rtol=SKLEARN_RTOL)


def test_reference_bits_are_prmls_numbers_and_a_direct_count():
    """PRML section 9.1.1: 240 x 180 pixels quantised to 2, 3 and 10 colours take 4.2%, 8.3% and 16.7% of the bits."""
    n = 240 * 180
    assert [round(100 * reference.compression_ratio(n, K), 1) for K in (2, 3, 10)] == [4.2, 8.3, 16.7]
    for n in (4320, 43200, 12345):
        for K in range(1, 300):
            bits_per_label = (K - 1).bit_length()  # the number of binary digits of the largest label, K - 1
            assert reference.compressed_bits(n, K) == n * bits_per_label + 24 * K
            assert reference.raw_bits(n) == 24 * n
            assert reference.compression_ratio(n, K) == (n * bits_per_label + 24 * K) / (24 * n)
            assert bits_per_label == math.ceil(math.log2(K))


def test_reference_quantised_image_is_each_pixels_centre_at_its_place():
    problem = segmentation.notebook_problem()
    centres = distinct_pixels(problem.pixels, 3, seed=1)
    labels = reference.assign(problem.pixels, centres)
    image = reference.quantised_image(centres, labels, problem.height, problem.width)
    for n in (0, 1, problem.width, len(labels) - 1):
        np.testing.assert_array_equal(image[n // problem.width, n % problem.width], centres[labels[n]])


def test_the_tiny_mixture_underflows_outside_log_space():
    """The segmentation check's last mixture: most pixels' densities are all 0 unless computed in logs."""
    problem = segmentation.notebook_problem()
    weights, means, covariances = segmentation._mixtures(problem)[-1]
    density = weights * np.exp(reference.estimate_log_gaussian_prob(problem.pixels, means, covariances))
    assert np.mean(np.all(density == 0, axis=1)) > 0.5


# --- the checks on answers typed into the release -----------------------------------------------------------

#: Right answers as a student might type them.
CORRECT = {
    "sq_dist": "np.sum((X[:, None] - centres[None]) ** 2, axis=-1)",
    "labels": "squared_distances(X, centres).argmin(axis=1)",
    "J": "((X - centres[labels]) ** 2).sum()",
    "quantised": "centres[labels].reshape((height, width, 3))",
    "ratio": "(n_pixels * np.ceil(np.log2(K)) + 24 * K) / (24 * n_pixels)",
    "log_resp": "np.log(weights) + log_density - logsumexp(np.log(weights) + log_density, axis=1)[:, None]",
}


def run_release(answers, until="segmentation"):
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    return failure_messages(segmentation.CHECKS, ns)


def test_typed_right_answers_pass_every_check():
    ns = run_release(CORRECT)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert segmentation.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


def test_reference_functions_pass_every_check():
    ns = {
        "pixels": pixels(),
        "squared_distances": reference.squared_distances,
        "assign": reference.assign,
        "distortion": reference.distortion,
        "quantised_image": reference.quantised_image,
        "compression_ratio": reference.compression_ratio,
        "gmm_segment": reference.segment,
    }
    assert failures(ns) == {}


@pytest.mark.parametrize(
    "changes, failing, explanation",
    [
        ({"sq_dist": "np.abs(X[:, None] - centres[None]).sum(axis=2)"}, {ASSIGN}, "matches no known mistake"),
        ({"labels": "np.argmax(squared_distances(X, centres), axis=1)"}, {ASSIGN}, "NEAREST"),
        ({"J": "np.sum(np.abs(X - centres[labels]))"}, {DISTORTION}, "matches no known mistake"),
        ({"quantised": "centres[labels].reshape(width, height, 3)"}, {QUANTISE}, "should have shape"),
        ({"ratio": "(n_pixels * np.log2(K) + 24 * K) / (24 * n_pixels)"}, {COMPRESSION}, "np.ceil"),
        ({"log_resp": "log_density"}, {SEGMENT}, "mixing weight"),
    ],
)
def test_typical_mistakes_fail_their_own_check_only_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    assert explanation in failed[next(iter(failing))], failed


def test_wrong_pixels_are_reported():
    ns = run_release(CORRECT)
    ns["pixels"] = ns["pixels"][::-1]
    with pytest.raises(segmentation.CheckFailed, match="re-run the notebook from the top"):
        segmentation.check_assign(ns)


def test_blank_release_fails_every_check_with_run_the_cell():
    failed = failures(run_release(None, until="data"))
    assert set(failed) == {ASSIGN, DISTORTION, QUANTISE, COMPRESSION, SEGMENT}
    assert all("is not defined" in message for message in failed.values())


# --- the catalogue (each sample judged on the notebook's and hidden inputs: tests/unit/test_catalogue.py) ---


HIDDEN = hidden_inputs(SPEC, 4)
MUTANTS_10 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]


def test_hidden_inputs_are_other_images_never_square():
    notebook = SPEC.notebook().details
    for where in HIDDEN:
        problem = where.details
        assert problem.height != problem.width
        assert problem.pixels.shape != notebook.pixels.shape or not np.allclose(problem.pixels, notebook.pixels)
        assert problem.cases_seed != notebook.cases_seed
        assert where.variables["pixels"].shape == (problem.height * problem.width, 3)
        assert np.all((problem.pixels >= 0) & (problem.pixels <= 1))


def test_hidden_draws_include_photo_crops_and_synthetic_blobs():
    rng = np.random.default_rng(7)
    drawn = [where for where in (SPEC.hidden(rng) for _ in range(40)) if where is not None]
    rows = [where.variables["photo"].shape[0] for where in drawn]
    assert any(n >= 200 for n in rows), "a crop of one of scikit-learn's photos (200 rows or more)"
    assert any(n <= 70 for n in rows), "a synthetic picture of colour blobs (at most 70 rows)"


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    assert {s.misconception for s in MUTANTS_10} == {m.id for m in SEGMENTATION}


def test_two_mistakes_at_once_match_no_known_mistake():
    ns = run_release({**CORRECT, "ratio": "n_pixels * np.log(K) / (8 * n_pixels)"})
    with pytest.raises(segmentation.CheckFailed) as failed:
        segmentation.check_compression(ns)
    assert failed.value.diagnosis == () and "matches no known mistake" in str(failed.value)
