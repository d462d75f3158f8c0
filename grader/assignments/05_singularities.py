"""05_singularities: the ridge reg_covar * I in the M-step, from a start that collapses a component onto a point."""

from typing import Any

import numpy as np

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import singularities
from grader.em import multivariate, regularised
from grader.em.univariate import Params
from grader.samples import Sample, Samples

#: The driver cell's ridge, and the iterations of the answer cell's run.
REG_COVAR, N_ITERATIONS = 1e-6, 30


def collapse_start(data, means):
    """(farthest (D,), start): broad components on ``means`` (2, D), a narrow third one on the farthest point."""
    farthest = data[np.argmax(np.linalg.norm(data - data.mean(axis=0), axis=1))]
    start = (
        np.array([*np.asarray(means, dtype=float), farthest]),
        np.array([np.eye(2), np.eye(2), 0.05 * np.eye(2)]),
        np.array([0.45, 0.45, 0.1]),
    )
    return farthest, start


def collapse(data, start):
    """The collapse cell's three unregularised iterations: (what its loop leaves behind, whether an E-step failed)."""
    mu, cov, pi = start
    left: dict[str, Any] = {}
    failed = False
    with np.errstate(all="ignore"):
        for iteration in range(1, 4):
            left["iteration"] = iteration
            try:
                gamma = multivariate.e_step(data, mu, cov, pi)
            except np.linalg.LinAlgError:
                failed = True
                break
            mu, cov, pi = multivariate.m_step(data, gamma)
            left["gamma"] = gamma
            np.linalg.eigvalsh(cov[2])  # the cell prints these eigenvalues: that must not raise either
    return {**left, "mu": mu, "cov": cov, "pi": pi}, failed


def inputs(problem, farthest, first_share):
    """What the collapse cell defines, for ``problem``'s data and start."""
    n_samples = len(problem.data)
    left, _ = collapse(problem.data, problem.start)
    variables = {
        "n_samples": n_samples,
        "n1": int(n_samples * first_share),
        "data": problem.data,
        "farthest": farthest,
        "start": problem.start,
        **left,
    }
    return Inputs("collapse", variables, problem)


def notebook():
    problem = singularities.notebook_problem()
    return inputs(problem, problem.start[0][2], 0.7)


def tells_the_story(data: np.ndarray, start: Params) -> bool:
    """Unregularised EM collapses within the cell's three iterations; with the ridge the third component
    becomes a finite spike on its point while the two broad ones stay broad: the notebook's story."""
    with np.errstate(all="ignore"):
        try:
            _, failed = collapse(data, start)
            run = regularised.fit(data, *start, N_ITERATIONS, REG_COVAR)
        except (np.linalg.LinAlgError, ValueError):
            return False
    mu, cov, pi = run.final
    if not failed or not all(np.all(np.isfinite(a)) for a in (mu, cov, pi, run.log_likelihoods)):
        return False
    scales = np.sqrt(np.linalg.eigvalsh(cov))
    broad = np.min(pi[:2]) > 0.05 and np.min(scales[:2]) > 0.05 * float(np.std(data))
    return bool(broad and np.max(scales[2]) < 1.01 * np.sqrt(REG_COVAR) and pi[2] * len(data) < 1.5)


def hidden(rng):
    """Other data (size, means, covariances, weights), the notebook's kind of start on it (broad components on
    the two clouds' means, the narrow one on the farthest point), other made-up responsibilities."""
    data, truth = draws.two_clusters_2d(rng)
    farthest, start = collapse_start(data, truth["mu_true"])
    if not tells_the_story(data, start):
        return None
    draws.read_only(data, farthest, *start)
    problem = singularities.Problem(data, start, cases_seed=int(rng.integers(2**31)))
    return inputs(problem, farthest, truth["pi_true"][0])


# --- sample answers: the seed's style, every catalogued mistake as a student makes it, correct alternatives --------

ASSIGNMENT_ID = "05_singularities"
ANSWER_CELL = "m_step_ridge"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_RIDGE = "reg_covar * np.eye(n_features)"

SAMPLES = Samples(
    seed_style={
        "mu": "gamma.T @ X / N_k[:, None]",
        "weighted_scatter": "(gamma[:, k, None] * diff).T @ diff",
        "covariances[k]": f"weighted_scatter / N_k[k] + {_RIDGE}",
        "pi": "N_k / n_samples",
    },
    mistakes={
        "ridge-mean-not-broadcast": {"mu": "gamma.T @ X / N_k"},
        "ridge-mean-divided-by-n": {"mu": "gamma.T @ X / n_samples"},
        "scatter-unweighted": {"weighted_scatter": "diff.T @ diff"},
        "scatter-weighted-twice": {"weighted_scatter": "(gamma[:, k, None] * diff).T @ (gamma[:, k, None] * diff)"},
        "ridge-covariance-divided-by-n": {"covariances[k]": f"weighted_scatter / n_samples + {_RIDGE}"},
        "ridge-covariance-bessel": {"covariances[k]": f"weighted_scatter / (N_k[k] - 1) + {_RIDGE}"},
        "ridge-missing": {"covariances[k]": "weighted_scatter / N_k[k]"},
        "ridge-off-diagonal": {"covariances[k]": "weighted_scatter / N_k[k] + reg_covar"},
        "ridge-scaled-by-n-k": {"covariances[k]": f"(weighted_scatter + {_RIDGE}) / N_k[k]"},
        "ridge-in-denominator": {"covariances[k]": "weighted_scatter / (N_k[k] + reg_covar)"},
        "ridge-weights-not-normalised": {"pi": "N_k"},
    },
    mutants=(
        sample(
            "ridge times N_k",
            "ridge-scaled-by-n-k",
            blanks={"covariances[k]": f"weighted_scatter / N_k[k] + N_k[k] * {_RIDGE}"},
        ),
        sample(
            "ridge in the denominator and on the diagonal",
            "ridge-in-denominator",
            blanks={"covariances[k]": f"weighted_scatter / (N_k[k] + reg_covar) + {_RIDGE}"},
        ),
    ),
    alternatives=(
        sample(
            "np.average, einsum, diagonal indices",
            blanks={
                "mu": "np.array([np.average(X, axis=0, weights=gamma[:, k]) for k in range(len(N_k))])",
                "weighted_scatter": "np.einsum('n,ni,nj->ij', gamma[:, k], diff, diff)",
                "covariances[k]": "weighted_scatter / N_k[k]\ncovariances[k][np.diag_indices(n_features)] += reg_covar",
                "pi": "N_k / N_k.sum()",
            },
        ),
        sample(
            "np.cov with aweights",
            blanks={
                "mu": "np.einsum('nk,nd->kd', gamma, X) / N_k[:, np.newaxis]",
                "weighted_scatter": "N_k[k] * np.cov(X, rowvar=False, aweights=gamma[:, k], bias=True)",
                "covariances[k]": "weighted_scatter / N_k[k] + np.diag(np.full(n_features, reg_covar))",
                "pi": "N_k / len(X)",
            },
        ),
        sample(
            "matrix products and np.identity",
            blanks={
                "mu": "(X.T @ gamma).T / N_k.reshape(-1, 1)",
                "weighted_scatter": "diff.T @ (diff * gamma[:, [k]])",
                "covariances[k]": "np.identity(n_features) * reg_covar + weighted_scatter / N_k[k]",
                "pi": "gamma.mean(axis=0)",
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_mu": call(singularities.check_mu),
        "test_cov": call(singularities.check_cov),
        "test_pi": call(singularities.check_pi),
        "test_run": call(singularities.check_run),
    },
    notebook=notebook,
    hidden=hidden,
    skip=("spike",),
    preload=("grader.checks.singularities",),
    samples=SAMPLES,
    blank_hints={
        "mu": "the responsibility-weighted means of all components, shape (K, D) (eq. 9.24)",
        "weighted_scatter": "sum over n of gamma[n, k] (x_n - mu_k)(x_n - mu_k)^T (numerator of eq. 9.25)",
        "covariances[k]": "the covariance of eq. (9.25) plus the ridge reg_covar * I on its diagonal",
        "pi": "the mixing weights N_k / N of all components (eq. 9.26)",
    },
)
