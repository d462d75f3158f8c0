"""10_image_segmentation: colour quantisation and segmentation of a photo with k-means and a Gaussian mixture."""

import functools

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import segmentation
from grader.checks.core import CheckFailed
from grader.em import segmentation as reference
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "10_image_segmentation"


def inputs(problem, photo, image):
    """What the data cell defines: the photo (bytes), its downsampled image in [0, 1], its shape and pixels."""
    variables = {
        "photo": photo,
        "image": image,
        "height": problem.height,
        "width": problem.width,
        "pixels": problem.pixels,
    }
    return Inputs("data", variables, problem)


def notebook():
    from sklearn.datasets import load_sample_image

    return inputs(segmentation.notebook_problem(), load_sample_image(segmentation.PHOTO), segmentation.notebook_image())


@functools.cache
def _photo(name):
    from sklearn.datasets import load_sample_image

    photo = load_sample_image(name)
    photo.setflags(write=False)
    return photo


def cropped_photo(rng):
    """(crop, image): a crop of one of scikit-learn's two photos, downsampled by 5-10 from a random offset."""
    photo = _photo(str(rng.choice(["china.jpg", "flower.jpg"])))
    step = int(rng.integers(5, 11))
    rows, cols = int(rng.integers(200, photo.shape[0])), int(rng.integers(250, photo.shape[1]))  # never the whole photo
    top, left = int(rng.integers(0, photo.shape[0] - rows + 1)), int(rng.integers(0, photo.shape[1] - cols + 1))
    crop = photo[top : top + rows, left : left + cols]
    offset = rng.integers(0, step, size=2)
    return crop, segmentation.downsampled(crop, step, *offset)


def colour_blobs(rng):
    """(photo, image): a 30-70 x 30-70 picture of 3-6 coloured rectangles on a background, with noise."""
    height, width = (int(n) for n in rng.integers(30, 71, size=2))
    canvas = np.empty((height, width, 3))
    canvas[:] = rng.uniform(0, 1, 3)
    for _ in range(int(rng.integers(3, 7))):
        top, left = int(rng.integers(0, height - 5)), int(rng.integers(0, width - 5))
        bottom, right = int(rng.integers(top + 5, height + 1)), int(rng.integers(left + 5, width + 1))
        canvas[top:bottom, left:right] = rng.uniform(0, 1, 3)
    noisy = np.clip(canvas + rng.normal(0, rng.uniform(0.01, 0.05), canvas.shape), 0, 1)
    photo = np.round(255 * noisy).astype(np.uint8)
    return photo, photo / 255


def reference_passes(problem):
    """Every check passes on the reference functions."""
    ns = {
        "pixels": problem.pixels,
        INPUTS: problem,
        "squared_distances": reference.squared_distances,
        "assign": reference.assign,
        "distortion": reference.distortion,
        "quantised_image": reference.quantised_image,
        "compression_ratio": reference.compression_ratio,
        "gmm_segment": reference.segment,
    }
    try:
        for _, check in segmentation.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return True


def hidden(rng):
    """Another crop and downsampling of either photo, or synthetic colour blobs; other K and other test inputs.

    A square image (where a transposed reshape is invisible) and any draw on
    which some catalogued mistake would give the right values are drawn again.
    """
    photo, image = colour_blobs(rng) if rng.uniform() < 0.3 else cropped_photo(rng)
    components = tuple(int(K) for K in np.sort(rng.choice(np.arange(2, 21), 3, replace=False)))
    problem = segmentation.problem_of(image, components=components, cases_seed=int(rng.integers(2**31 - 10)))
    if (
        problem.height == problem.width
        or not 1000 <= problem.n_pixels <= 8000
        or not segmentation.distinguishes(problem)
        or not reference_passes(problem)
    ):
        return None
    draws.read_only(photo, image, problem.pixels)
    return inputs(problem, photo, image)


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ----

ANSWER_CELL = "segmentation"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_DIFF = "(X[:, None, :] - centres[None, :, :])"
_WEIGHTED = "(np.log(weights) + log_density)"
_BITS = "n_pixels * np.ceil(np.log2(K))"

SAMPLES = Samples(
    seed_style={
        "sq_dist": f"({_DIFF} ** 2).sum(axis=2)",
        "labels": "np.argmin(squared_distances(X, centres), axis=1)",
        "J": "np.sum((X - centres[labels]) ** 2)",
        "quantised": "centres[labels].reshape(height, width, 3)",
        "ratio": f"({_BITS} + 24 * K) / (24 * n_pixels)",
        "log_resp": f"{_WEIGHTED} - logsumexp({_WEIGHTED}, axis=1, keepdims=True)",
    },
    mistakes={
        "colour-distance-not-squared": {"sq_dist": f"np.sqrt(({_DIFF} ** 2).sum(axis=2))"},
        "colour-distance-square-of-sum": {"sq_dist": f"{_DIFF}.sum(axis=2) ** 2"},
        "colour-nearest-argmax": {"labels": "np.argmax(squared_distances(X, centres), axis=1)"},
        "distortion-mean": {"J": "np.mean((X - centres[labels]) ** 2)"},
        "distortion-all-centres": {"J": "np.sum(squared_distances(X, centres))"},
        "quantised-transposed": {"quantised": "centres[labels].reshape(width, height, 3)"},
        "quantised-labels-not-colours": {"quantised": "labels.reshape(height, width)"},
        "bits-not-rounded-up": {"ratio": "(n_pixels * np.log2(K) + 24 * K) / (24 * n_pixels)"},
        "bits-natural-log": {"ratio": "(n_pixels * np.ceil(np.log(K)) + 24 * K) / (24 * n_pixels)"},
        "bits-centres-missing": {"ratio": f"{_BITS} / (24 * n_pixels)"},
        "bits-8-per-pixel": {"ratio": f"({_BITS} + 24 * K) / (8 * n_pixels)"},
        "segment-weights-missing": {"log_resp": "log_density - logsumexp(log_density, axis=1, keepdims=True)"},
        "segment-logsumexp-wrong-axis": {"log_resp": f"{_WEIGHTED} - logsumexp({_WEIGHTED}, axis=0, keepdims=True)"},
        "segment-exp-underflow": {
            "log_resp": "np.log(weights * np.exp(log_density) / np.sum(weights * np.exp(log_density), axis=1, "
            "keepdims=True))"
        },
    },
    mutants=(
        sample(
            "np.linalg.norm for the distance",
            "colour-distance-not-squared",
            blanks={"sq_dist": f"np.linalg.norm({_DIFF}, axis=2)"},
        ),
        sample(
            "transposed after a reshape to (width, height)",
            "quantised-transposed",
            blanks={"quantised": "centres[labels].reshape(width, height, 3).transpose(1, 0, 2)"},
        ),
        sample(
            "int() of log2 K",
            "bits-not-rounded-up",
            blanks={"ratio": "(n_pixels * int(np.log2(K)) + 24 * K) / (24 * n_pixels)"},
        ),
        sample("log densities alone", "segment-weights-missing", blanks={"log_resp": "log_density"}),
    ),
    alternatives=(
        sample(
            "expanded square, take_along_axis, unnormalised log responsibilities",
            blanks={
                "sq_dist": "(X ** 2).sum(axis=1)[:, None] - 2 * X @ centres.T + (centres ** 2).sum(axis=1)[None, :]",
                "labels": "squared_distances(X, centres).argmin(axis=1)",
                "J": "np.take_along_axis(squared_distances(X, centres), labels[:, None], axis=1).sum()",
                "quantised": "centres[labels.reshape(height, width)]",
                "ratio": "(n_pixels * (int(K) - 1).bit_length() + 24 * K) / (24 * n_pixels)",
                "log_resp": f"{_WEIGHTED}",
            },
        ),
        sample(
            "scipy's cdist, einsum, math.ceil, np.logaddexp.reduce",
            blanks={
                "sq_dist": 'cdist(X, centres, "sqeuclidean")',
                "labels": "np.array([np.argmin(row) for row in squared_distances(X, centres)])",
                "J": 'np.einsum("nd,nd->", X - centres[labels], X - centres[labels])',
                "quantised": "np.stack([centres[labels, c].reshape(height, width) for c in range(3)], axis=-1)",
                "ratio": "(n_pixels * math.ceil(math.log2(K)) + 24 * K) / (24 * n_pixels)",
                "log_resp": f"{_WEIGHTED} - np.logaddexp.reduce({_WEIGHTED}, axis=1, keepdims=True)",
            },
            edits=(
                (
                    "def squared_distances(X, centres):\n",
                    "import math\n\nfrom scipy.spatial.distance import cdist\n\n\ndef squared_distances(X, centres):\n",
                ),
            ),
        ),
        sample(
            "loops over the centres, log responsibilities shifted by their maximum",
            blanks={
                "sq_dist": "np.stack([np.sum((X - c) ** 2, axis=1) for c in centres], axis=1)",
                "J": "sum(np.sum((X[labels == k] - centres[k]) ** 2) for k in range(len(centres)))",
                "quantised": "np.reshape(centres[labels], (height, width, -1))",
                "log_resp": f"{_WEIGHTED} - np.max({_WEIGHTED}, axis=1, keepdims=True)",
            },
        ),
    ),
    sample_class=(
        "seed",
        "colour-distance-not-squared",
        "blank",
        "correct: scipy's cdist, einsum, math.ceil, np.logaddexp.reduce",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_assign": call(segmentation.check_assign),
        "test_distortion": call(segmentation.check_distortion),
        "test_quantise": call(segmentation.check_quantise),
        "test_compression": call(segmentation.check_compression),
        "test_segment": call(segmentation.check_segment),
    },
    notebook=notebook,
    hidden=hidden,
    preload=(
        "grader.checks.segmentation",
        "sklearn.datasets",
        "sklearn.mixture",
        "scipy.special",
        "scipy.stats",
    ),
    samples=SAMPLES,
    blank_hints={
        "sq_dist": "the squared distance ||x_n - mu_k||^2 of every pixel to every centre, shape (N, K): the squared "
        "differences of the three colour channels, summed (eq. 9.1)",
        "labels": "the index k of every pixel's nearest centre, shape (N,): the argmin over k of the squared "
        "distance (eq. 9.2)",
        "J": "the distortion J, one number: the sum over the pixels of the squared distance to their own centre "
        "centres[labels[n]] (eq. 9.1)",
        "quantised": "the image of shape (height, width, 3) in which every pixel has its centre's colour "
        "centres[labels[n]], pixels in the order of pixels = image.reshape(-1, 3)",
        "ratio": "the bits of the quantised image, N ceil(log2 K) + 24 K, over the 24 N bits of the raw image "
        "(PRML section 9.1.1)",
        "log_resp": "ln gamma(z_nk), shape (N, K): ln pi_k + ln N(x_n | mu_k, Sigma_k) minus its logsumexp over the "
        "components k (eq. 9.23 in log space)",
    },
)
