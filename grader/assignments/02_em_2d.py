"""02_em_2d: full-covariance EM in 2D from random (Dirichlet) responsibilities."""

import numpy as np

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import em2d
from grader.em import multivariate, seed
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "02_em_2d"

TRUTH = {
    "pi_true": [0.7, 0.3],
    "mu_true": [np.array([0, 0]), np.array([4, 4])],
    "cov_true": [np.array([[1, 0.5], [0.5, 1]]), np.array([[1, -0.3], [-0.3, 1]])],
}


def inputs(problem, truth):
    """What the data cell defines, for ``problem``'s data; the init cell's Dirichlet start follows from it."""
    n_samples = len(problem.data)
    first = int(n_samples * truth["pi_true"][0])
    variables = {
        "data": problem.data,
        "n_samples": n_samples,
        "n1": first,
        "n2": n_samples - first,
        "K": problem.n_components,
        **truth,
    }
    return Inputs("data", variables, problem)


def notebook():
    return inputs(seed.problem_2d(), TRUTH)


def hidden(rng):
    """Other data (size, means, covariances, weights), the notebook's own Dirichlet start on it."""
    data, truth = draws.two_clusters_2d(rng)
    _, start = draws.dirichlet_start_2d(data)
    problem = seed.Problem(data, start, seed.problem_2d().n_iterations)
    return inputs(problem, truth) if draws.well_posed(multivariate, problem) else None


# --- sample answers: the seed's style, every catalogued mistake as a student makes it, correct alternatives --------

EM_CELL = "em_loop"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=EM_CELL, **answers)


_ESTEP_LOOP_2D = (
    "    gamma = np.zeros((len(data), K))\n"
    "    for k in range(K):\n"
    "        gamma[:, k] = pi[k] * multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])\n"
)
_NORMALISE_2D = "    gamma /= gamma.sum(axis=1, keepdims=True)\n"
_LOGLIK = "    log_likelihood = np.sum(np.log(likelihood.sum(axis=1)))\n"
_IMPORT_LOGSUMEXP = ("# EM algorithm\n", "# EM algorithm\nfrom scipy.special import logsumexp\n")

SAMPLES = Samples(
    seed_style={
        "gamma[:, k]": "pi[k] * multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])",
        "mu[k]": "(gamma[:, k][:, np.newaxis] * data).sum(axis=0) / N_k[k]",
        "cov[k]": "(gamma[:, k][:, np.newaxis, np.newaxis] *\n"
        "          np.einsum('ni,nj->nij', diff, diff)).sum(axis=0) / N_k[k]",
        "pi[k]": "N_k[k] / len(data)",
        "log_likelihood": "np.sum(np.log(likelihood.sum(axis=1)))",
    },
    mistakes={
        "covariance-unweighted": {"cov[k]": "np.einsum('ni,nj->nij', diff, diff).sum(axis=0) / N_k[k]"},
        "covariance-divided-by-n": {
            "cov[k]": "(gamma[:, k][:, np.newaxis, np.newaxis] *\n"
            "          np.einsum('ni,nj->nij', diff, diff)).sum(axis=0) / len(data)"
        },
        "covariance-bessel-corrected": {
            "cov[k]": "(gamma[:, k][:, np.newaxis, np.newaxis] *\n"
            "          np.einsum('ni,nj->nij', diff, diff)).sum(axis=0) / (N_k[k] - 1)"
        },
        "mean-divided-by-n": {"mu[k]": "(gamma[:, k][:, np.newaxis] * data).sum(axis=0) / len(data)"},
        "weights-missing-in-estep": {"gamma[:, k]": "multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])"},
        "weights-not-normalised": {"pi[k]": "N_k[k]"},
        "weights-not-updated": {"pi[k]": "pi[k]"},
        "weights-summed-over-components": {"pi[k]": "gamma.sum(axis=1)[k] / len(data)"},
        "loglik-wrong": {"log_likelihood": "np.sum(likelihood.sum(axis=1))"},
    },
    mutants=(
        sample("normalisation deleted", "responsibilities-unnormalised", edits=((_NORMALISE_2D, ""),)),
        sample(
            "normalised over points",
            "responsibilities-unnormalised",
            edits=((_NORMALISE_2D, "    gamma /= gamma.sum(axis=0)\n"),),
        ),
        sample(
            "diff before mu",
            "covariance-old-mean",
            edits=(
                ("        diff = data - mu[k]\n", ""),
                ("        mu[k] = ", "        diff = data - mu[k]\n        mu[k] = "),
            ),
        ),
        sample(
            "sum over components",
            "loglik-wrong",
            blanks={"log_likelihood": "np.sum(np.log(likelihood.sum(axis=0)))"},
        ),
        sample(
            "without the weights",
            "loglik-wrong",
            blanks={"log_likelihood": "np.sum(np.log((likelihood / pi).sum(axis=1)))"},
        ),
        sample(
            "gamma reused in place",
            "history-aliased",
            edits=(("    gamma = np.zeros((len(data), K))\n", ""), ("append(gamma.copy())", "append(gamma)")),
        ),
    ),
    alternatives=(
        sample(
            "hand-written density",
            blanks={
                "gamma[:, k]": "pi[k] * np.exp(-0.5 * np.sum((data - mu[k]) @ np.linalg.inv(cov[k]) * (data - mu[k]), "
                "axis=1)) / (2 * np.pi * np.sqrt(np.linalg.det(cov[k])))"
            },
        ),
        sample(
            "np.average and np.cov with aweights",
            blanks={
                "mu[k]": "np.average(data, axis=0, weights=gamma[:, k])",
                "cov[k]": "np.cov(data, rowvar=False, aweights=gamma[:, k], bias=True)",
                "pi[k]": "gamma[:, k].mean()",
            },
        ),
        sample(
            "einsum",
            blanks={
                "mu[k]": "np.einsum('n,ni->i', gamma[:, k], data) / N_k[k]",
                "cov[k]": "np.einsum('n,ni,nj->ij', gamma[:, k], diff, diff) / N_k[k]",
            },
        ),
        sample(
            "matrix products",
            blanks={"mu[k]": "gamma[:, k] @ data / N_k[k]", "cov[k]": "(gamma[:, k] * diff.T) @ diff / N_k[k]"},
        ),
        sample(
            "vectorised E-step",
            edits=(
                (
                    _ESTEP_LOOP_2D,
                    "    gamma = np.column_stack([pi[k] * multivariate_normal.pdf(data, mu[k], cov[k]) "
                    "for k in range(K)])\n",
                ),
            ),
        ),
        sample(
            "log-space E-step with logsumexp",
            edits=(
                _IMPORT_LOGSUMEXP,
                (
                    _ESTEP_LOOP_2D + _NORMALISE_2D,
                    "    log_weighted = np.log(pi) + np.column_stack(\n"
                    "        [multivariate_normal.logpdf(data, mu[k], cov[k]) for k in range(K)])\n"
                    "    gamma = np.exp(log_weighted - logsumexp(log_weighted, axis=1, keepdims=True))\n",
                ),
            ),
            blanks={"log_likelihood": "logsumexp(np.log(likelihood), axis=1).sum()"},
        ),
    ),
    sample_class=(
        "seed",
        "blank",
        "covariance-unweighted",
        "loglik-wrong: blank log_likelihood",
        "history-aliased",
        "covariance-old-mean",
        "correct: np.average and np.cov with aweights",
        "weights-not-updated",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_estep": call(em2d.check_estep),
        "test_mu": call(em2d.check_mu),
        "test_cov": call(em2d.check_cov),
        "test_pi": call(em2d.check_pi),
        "test_loglik": call(em2d.check_log_likelihood),
        "test_history": call(em2d.check_history),
        "test_convergence": call(em2d.check_convergence),
    },
    notebook=notebook,
    hidden=hidden,
    hidden_view=em2d.finite_prefix,
    skip=("em-slider",),
    preload=("grader.checks.em2d",),
    samples=SAMPLES,
    blank_hints={
        "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
        "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
        "cov[k]": "the responsibility-weighted covariance around the new mu[k] (eq. 9.25)",
        "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
        "log_likelihood": "sum over points of log sum over k of pi_k N(x_n | component k) (eq. 9.14)",
    },
)
