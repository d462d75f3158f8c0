"""06_model_selection: parameter counts of the four covariance types, BIC and AIC against scikit-learn."""

import functools
from pathlib import Path

import numpy as np

import grader
from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import model_selection
from grader.checks.core import CheckFailed
from grader.em import model_selection as reference
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "06_model_selection"
#: The grader's own copy of the file the data cell reads next to the notebook (byte for byte the course's;
#: see old_faithful.md next to it), so that a course anywhere is graded against the same data, never against
#: a file of the submission's folder.
FAITHFUL = Path(grader.__file__).resolve().parent / "data" / "old_faithful.csv"


def inputs(problem, iris):
    """What the data cell defines: ``faithful`` holds the data the criteria are judged on.

    ``iris`` (150, 4) only feeds the sweeps after the answer cell, which
    verification skips; a hidden run still replaces it, like all its data.
    """
    return Inputs("data", {"faithful": problem.data, "iris": iris}, problem)


@functools.cache
def notebook():
    from sklearn.datasets import load_iris

    problem, iris = model_selection.notebook_problem(FAITHFUL), load_iris().data
    draws.read_only(problem.data, iris)
    return inputs(problem, iris)


def mixture(rng, n_samples, n_features):
    """(N, D): a mixture of 2-4 tilted Gaussians, columns on different scales."""
    n_components = int(rng.integers(2, 5))
    sizes = np.maximum(rng.multinomial(n_samples, rng.dirichlet(np.full(n_components, 4.0))), 15)
    parts = []
    for size in sizes:
        rotation, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        covariance = rotation @ np.diag(rng.uniform(0.2, 1.5, n_features) ** 2) @ rotation.T
        parts.append(rng.multivariate_normal(rng.uniform(-6.0, 6.0, n_features), covariance, size))
    scales = rng.uniform(0.5, 10.0, n_features)
    return rng.permutation(np.vstack(parts)) * scales


def reference_passes(problem):
    """Every check passes on the reference functions: the fits are finite and the grid is one a count can grow on."""
    ns = {
        "faithful": problem.data,
        INPUTS: problem,
        "n_parameters": reference.n_parameters,
        "bic": reference.bic,
        "aic": reference.aic,
    }
    try:
        for _, check in model_selection.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return all(np.all(np.isfinite(fit[2:])) for fit in model_selection.fitted(problem))


def hidden(rng):
    """Another grid of K and D, another probe, and a generated 2D or 3D mixture in place of Old Faithful."""
    n_samples, n_features = int(rng.integers(150, 401)), int(rng.integers(2, 4))
    data = mixture(rng, n_samples, n_features)
    problem = model_selection.Problem(
        components=tuple(int(K) for K in np.sort(rng.choice(np.arange(1, 13), 6, replace=False))),
        features=tuple(int(D) for D in np.sort(rng.choice(np.arange(1, 10), 5, replace=False))),
        data=data,
        data_name=f"{n_samples} points drawn from a {n_features}D Gaussian mixture",
        fitted_components=tuple(int(K) for K in np.sort(rng.choice(np.arange(1, 5), 3, replace=False))),
        probe=(-float(rng.uniform(50.0, 5000.0)), int(rng.integers(2, 61)), int(rng.integers(20, 5001))),
    )
    if not reference_passes(problem):
        return None
    iris = mixture(rng, 150, 4)
    draws.read_only(data, iris)
    return inputs(problem, iris)


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ---

ANSWER_CELL = "criteria"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


SAMPLES = Samples(
    seed_style={
        "n_means": "K * D",
        "n_weights": "K - 1",
        "n_cov_full": "K * D * (D + 1) // 2",
        "n_cov_diag": "K * D",
        "n_cov_tied": "D * (D + 1) // 2",
        "n_cov_spherical": "K",
        "bic_value": "-2 * log_likelihood + n_params * np.log(n_samples)",
        "aic_value": "-2 * log_likelihood + 2 * n_params",
    },
    mistakes={
        "covariance-entries-not-symmetric": {"n_cov_full": "K * D * D"},
        "covariance-diagonal-missing": {"n_cov_full": "K * (D * (D - 1) // 2)"},
        "covariance-not-per-component": {"n_cov_diag": "D"},
        "diagonal-counted-as-full": {"n_cov_diag": "K * D * (D + 1) // 2"},
        "tied-counted-per-component": {"n_cov_tied": "K * D * (D + 1) // 2"},
        "spherical-counted-as-diagonal": {"n_cov_spherical": "K * D"},
        "means-missing-from-count": {"n_means": "0"},
        "means-one-entry-each": {"n_means": "K"},
        "weights-all-counted": {"n_weights": "K"},
        "weights-missing-from-count": {"n_weights": "0"},
        "criterion-halved": {"bic_value": "-log_likelihood + n_params * np.log(n_samples) / 2"},
        "criterion-prml-sign": {"bic_value": "log_likelihood - n_params * np.log(n_samples) / 2"},
        "criterion-loglik-sign": {"bic_value": "2 * log_likelihood + n_params * np.log(n_samples)"},
        "criterion-loglik-not-doubled": {"bic_value": "-log_likelihood + n_params * np.log(n_samples)"},
        "criterion-penalty-factor": {"bic_value": "-2 * log_likelihood + n_params * np.log(n_samples) / 2"},
        "criterion-penalty-sign": {"bic_value": "-2 * log_likelihood - n_params * np.log(n_samples)"},
        "bic-penalty-of-aic": {"bic_value": "-2 * log_likelihood + 2 * n_params"},
        "bic-log10": {"bic_value": "-2 * log_likelihood + n_params * np.log10(n_samples)"},
        "bic-penalty-without-log": {"bic_value": "-2 * log_likelihood + n_params * n_samples"},
    },
    mutants=(
        sample("tied D^2", "covariance-entries-not-symmetric", blanks={"n_cov_tied": "D * D"}),
        sample("tied off-diagonal only", "covariance-diagonal-missing", blanks={"n_cov_tied": "D * (D - 1) // 2"}),
        sample("spherical one variance", "covariance-not-per-component", blanks={"n_cov_spherical": "1"}),
        sample("full shared", "covariance-not-per-component", blanks={"n_cov_full": "D * (D + 1) // 2"}),
        sample("AIC halved", "criterion-halved", blanks={"aic_value": "-log_likelihood + n_params"}),
        sample("AIC in PRML's form", "criterion-prml-sign", blanks={"aic_value": "log_likelihood - n_params"}),
        sample(
            "AIC log-likelihood sign",
            "criterion-loglik-sign",
            blanks={"aic_value": "2 * log_likelihood + 2 * n_params"},
        ),
        sample(
            "AIC log-likelihood not doubled",
            "criterion-loglik-not-doubled",
            blanks={"aic_value": "-log_likelihood + 2 * n_params"},
        ),
        sample(
            "AIC penalty not doubled",
            "criterion-penalty-factor",
            blanks={"aic_value": "-2 * log_likelihood + n_params"},
        ),
        sample(
            "AIC penalty subtracted",
            "criterion-penalty-sign",
            blanks={"aic_value": "-2 * log_likelihood - 2 * n_params"},
        ),
    ),
    alternatives=(
        sample(
            "float division, terms swapped",
            blanks={
                "n_cov_full": "K * D * (D + 1) / 2",
                "n_cov_diag": "D * K",
                "n_cov_tied": "D * (D + 1) / 2",
                "bic_value": "n_params * np.log(n_samples) - 2 * log_likelihood",
                "aic_value": "2 * n_params - 2 * log_likelihood",
            },
        ),
        sample(
            "diagonal plus the entries above it",
            blanks={
                "n_means": "D * K",
                "n_cov_full": "K * (D + D * (D - 1) // 2)",
                "n_cov_tied": "D + D * (D - 1) // 2",
                "n_cov_spherical": "K * 1",
            },
        ),
        sample(
            "math.log and scipy's comb",
            edits=(
                (
                    "def n_parameters(covariance_type, K, D):\n",
                    "import math\n\nfrom scipy.special import comb\n\n\ndef n_parameters(covariance_type, K, D):\n",
                ),
            ),
            blanks={
                "n_cov_full": "K * int(comb(D + 1, 2))",
                "n_cov_tied": "int(comb(D + 1, 2))",
                "bic_value": "-2.0 * log_likelihood + n_params * math.log(n_samples)",
                "aic_value": "2 * (n_params - log_likelihood)",
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_n_parameters_full_diag": call(model_selection.check_n_parameters, ["full", "diag"]),
        "test_n_parameters_tied_spherical": call(model_selection.check_n_parameters, ["tied", "spherical"]),
        "test_bic": call(model_selection.check_bic),
        "test_aic": call(model_selection.check_aic),
    },
    notebook=notebook,
    hidden=hidden,
    # the criteria sweeps refit 24 mixtures per data set with three starts each (30-80 s) and only draw
    skip=("sweep", "iris-sweep", "chosen-plot"),
    preload=("grader.checks.model_selection", "sklearn.mixture", "sklearn.datasets"),
    samples=SAMPLES,
    blank_hints={
        "n_means": "the number of free entries in the K mean vectors of length D",
        "n_weights": "the number of free mixing weights: K of them, but they sum to 1",
        "n_cov_full": "the free entries of K symmetric D x D covariance matrices",
        "n_cov_diag": "the free entries of K diagonal covariance matrices",
        "n_cov_tied": "the free entries of one symmetric D x D covariance matrix shared by all components",
        "n_cov_spherical": "the free entries of K covariances of the form sigma_k^2 I",
        "bic_value": "-2 log-likelihood + n_params ln(n_samples) (PRML eq. 4.139 times -2)",
        "aic_value": "-2 log-likelihood + 2 n_params (PRML eq. 1.73 times -2)",
    },
)
