"""09_bernoulli_mixtures: EM for a mixture of Bernoulli distributions on binarised 8x8 digits (PRML section 9.3.3)."""

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import bernoulli_mixture
from grader.checks.core import CheckFailed
from grader.em import bernoulli
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "09_bernoulli_mixtures"
ANSWER_CELL = "bernoulli_em"


def inputs(problem, labels):
    """What the data cell defines for ``problem``: the images, their labels, K and the start."""
    variables = {
        "X": problem.X,
        "labels": labels,
        "K": len(problem.pi_start),
        "mu_start": problem.mu_start,
        "pi_start": problem.pi_start,
    }
    return Inputs("data", variables, problem)


def notebook():
    _, labels = bernoulli.binary_digits(bernoulli_mixture.CLASSES)
    return inputs(bernoulli_mixture.notebook_problem(), labels)


def reference_passes(problem):
    """Every check passes on the reference functions (the run's log-likelihood never falls, etc.)."""
    ns = {
        "X": problem.X,
        INPUTS: problem,
        "log_bernoulli": bernoulli.log_bernoulli,
        "responsibilities": bernoulli.responsibilities,
        "m_step": bernoulli.m_step,
    }
    try:
        for _, check in bernoulli_mixture.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return True


def well_posed(problem):
    """The reference run keeps every component (weights above 2%) and its log-likelihood never falls."""
    _, weights, log_likelihoods = bernoulli.fit(
        problem.X, problem.mu_start, problem.pi_start, bernoulli_mixture.N_ITERATIONS
    )
    rising = np.all(np.diff(log_likelihoods) >= -bernoulli_mixture.MONOTONE_RTOL * np.abs(log_likelihoods[1:]))
    return bool(rising and weights.min() > 0.02)


def hidden(rng):
    """Other digits (2 to 4 classes, K of them), a random 70-100% of their images, another threshold and start."""
    n_classes = int(rng.integers(2, 5))
    classes = np.sort(rng.choice(10, n_classes, replace=False))
    X, labels = bernoulli.binary_digits(classes, threshold=int(rng.integers(5, 10)))
    keep = np.sort(rng.choice(len(X), int(len(X) * rng.uniform(0.7, 1.0)), replace=False))
    X, labels = X[keep], labels[keep]
    mu_start = rng.uniform(*bernoulli_mixture.START_RANGE, size=(n_classes, X.shape[1]))
    problem = bernoulli_mixture.Problem(
        X, mu_start, np.full(n_classes, 1 / n_classes), cases_seed=int(rng.integers(1, 2**31 - 10))
    )
    if not (well_posed(problem) and reference_passes(problem)):
        return None
    draws.read_only(X, labels, mu_start, problem.pi_start)
    return inputs(problem, labels)


# --- sample answers: the seed's style, every catalogued mistake as a student makes it, correct alternatives --------


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_LOG_P = "X @ np.log(mu).T + (1 - X) @ np.log(1 - mu).T"
_IMPORT = "def log_bernoulli(X, mu):\n"

SAMPLES = Samples(
    seed_style={
        "log_p": _LOG_P,
        "log_gamma": "log_weighted - logsumexp(log_weighted, axis=1, keepdims=True)",
        "N_k": "gamma.sum(axis=0)",
        "mu": "gamma.T @ X / N_k[:, None]",
        "pi": "N_k / len(X)",
    },
    mistakes={
        "bernoulli-complement-missing": {"log_p": "X @ np.log(mu).T"},
        "bernoulli-pixels-swapped": {"log_p": "(1 - X) @ np.log(mu).T + X @ np.log(1 - mu).T"},
        "bernoulli-probability-underflow": {
            "log_p": "np.log(np.prod(mu[None] ** X[:, None] * (1 - mu[None]) ** (1 - X[:, None]), axis=2))"
        },
        "bernoulli-pixels-averaged": {"log_p": f"({_LOG_P}) / X.shape[1]"},
        "bernoulli-responsibilities-wrong-axis": {
            "log_gamma": "log_weighted - logsumexp(log_weighted, axis=0, keepdims=True)"
        },
        "bernoulli-responsibilities-keepdims-missing": {"log_gamma": "log_weighted - logsumexp(log_weighted, axis=1)"},
        "bernoulli-responsibilities-underflow": {
            "log_gamma": "np.log(np.exp(log_weighted) / np.exp(log_weighted).sum(axis=1, keepdims=True))"
        },
        "bernoulli-responsibilities-unnormalised": {"log_gamma": "log_weighted"},
        "bernoulli-nk-wrong-axis": {"N_k": "gamma.sum(axis=1)"},
        "bernoulli-mean-divided-by-n": {"mu": "gamma.T @ X / len(X)"},
        "bernoulli-mean-unweighted": {"mu": "X.sum(axis=0) / N_k[:, None]"},
        "bernoulli-mean-not-column": {"mu": "gamma.T @ X / N_k"},
        "bernoulli-weights-unnormalised": {"pi": "N_k"},
    },
    mutants=(
        sample(
            "einsum without the ln(1 - mu) term",
            "bernoulli-complement-missing",
            blanks={"log_p": "np.einsum('nd,kd->nk', X, np.log(mu))"},
        ),
        sample(
            "exp of the log-likelihood, then its log",
            "bernoulli-probability-underflow",
            blanks={"log_p": f"np.log(np.exp({_LOG_P}))"},
        ),
        sample(
            "np.mean of the images for every component",
            "bernoulli-mean-divided-by-n",
            blanks={"mu": "(gamma[:, :, None] * X[:, None, :]).mean(axis=0)"},
        ),
    ),
    alternatives=(
        sample(
            "einsum, and pi as N_k over its sum",
            blanks={
                "log_p": "np.einsum('nd,kd->nk', X, np.log(mu)) + np.einsum('nd,kd->nk', 1 - X, np.log1p(-mu))",
                "log_gamma": "log_weighted - logsumexp(log_weighted, axis=1)[:, None]",
                "N_k": "np.einsum('nk->k', gamma)",
                "mu": "np.einsum('nk,nd->kd', gamma, X) / N_k[:, None]",
                "pi": "N_k / N_k.sum()",
            },
        ),
        sample(
            "scipy.stats.bernoulli, log-sum-exp by hand, np.average",
            blanks={
                "log_p": "bernoulli.logpmf(X[:, None, :], mu[None, :, :]).sum(axis=2)",
                "log_gamma": "log_weighted - log_weighted.max(axis=1, keepdims=True) - np.log(np.exp(log_weighted "
                "- log_weighted.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))",
                "N_k": "np.sum(gamma, axis=0)",
                "mu": "np.array([np.average(X, axis=0, weights=gamma[:, k]) for k in range(gamma.shape[1])])",
                "pi": "gamma.mean(axis=0)",
            },
            edits=((_IMPORT, "from scipy.stats import bernoulli\n\n\n" + _IMPORT),),
        ),
        sample(
            "np.where per pixel, broadcasting",
            blanks={
                "log_p": "np.where(X[:, None, :] == 1, np.log(mu), np.log(1 - mu)).sum(axis=-1)",
                "N_k": "gamma.sum(0)",
                "mu": "(gamma[:, :, None] * X[:, None, :]).sum(axis=0) / N_k[:, None]",
                "pi": "N_k / X.shape[0]",
            },
        ),
    ),
    sample_class=(
        "seed",
        "bernoulli-complement-missing",
        "blank",
        "correct: einsum, and pi as N_k over its sum",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_log_bernoulli": call(bernoulli_mixture.check_log_bernoulli),
        "test_responsibilities": call(bernoulli_mixture.check_responsibilities),
        "test_m_step": call(bernoulli_mixture.check_m_step),
        "test_em_run": call(bernoulli_mixture.check_em_run),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.bernoulli_mixture", "sklearn.datasets", "scipy.special"),
    samples=SAMPLES,
    blank_hints={
        "log_p": "sum_d x_nd ln mu_kd + (1 - x_nd) ln(1 - mu_kd) for every image n and component k, shape (N, K) "
        "(the log of eq. 9.48)",
        "log_gamma": "ln gamma(z_nk): log_weighted minus each image's log-sum-exp over the components (eq. 9.56 in "
        "logs), shape (N, K)",
        "N_k": "N_k = sum_n gamma(z_nk), the effective number of images of each component, shape (K,) (eq. 9.57)",
        "mu": "mu_k = sum_n gamma(z_nk) x_n / N_k for every component, shape (K, D) (eq. 9.58 and eq. 9.59)",
        "pi": "pi_k = N_k / N, shape (K,) (eq. 9.60)",
    },
)
