"""03_logspace: notebook 01's EM in log space, which survives an outlier whose density underflows."""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import logspace
from grader.em import seed, univariate
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "03_logspace"

#: Smallest distance of a hidden outlier from every fitted component, in that component's standard deviations:
#: exp(-z^2 / 2) underflows to 0 from z = 38.6, and the notebook's x = 60 is 55 from N(5, 1).
OUTLIER_SPREADS = (45.0, 75.0)
#: A point's log density under the mixture below which notebook 01's density arithmetic loses it.
REPRESENTABLE = -700.0


def inputs(problem, n_samples_component_1):
    """What the data cell defines, for ``problem``; the pdf-em cell's start and fit follow from it."""
    variables = {
        "data": problem.data,
        "n_samples": len(problem.data),
        "n_samples_component_1": n_samples_component_1,
        "outlier": problem.outlier,
        "data_outlier": problem.with_outlier,
    }
    return Inputs("data", variables, problem)


def notebook():
    problem = logspace.notebook_problem()
    return inputs(problem, int(len(problem.data) * 0.7))


def _outlier(rng, fitted):
    """A point beyond every fitted component on a random side, 45-75 of the binding component's spreads away."""
    mu, sigma, _ = fitted
    spreads = rng.uniform(*OUTLIER_SPREADS)
    if rng.random() < 0.5:
        return float(np.ceil(np.max(mu + spreads * sigma) * 10) / 10)
    return float(np.floor(np.min(mu - spreads * sigma) * 10) / 10)


def _unequal(rng, data):
    """Three components inside the data's range, spreads 0.2-0.9 of its own, weights apart from each other."""
    weights = rng.dirichlet(np.full(3, 2.0))
    if weights.min() < 0.1 or np.min(np.diff(np.sort(weights))) < 0.05:
        return None
    spread = float(np.std(data))
    return (rng.uniform(data.min(), data.max(), 3), rng.uniform(0.2, 0.9, 3) * spread, weights)


def _densities_representable(data, run):
    """Every point keeps a nonzero mixture density along ``run``: the notebook's density EM then is this run."""
    return all(
        logsumexp(univariate.estimate_weighted_log_prob(data, *params), axis=1).min() > REPRESENTABLE
        for params in run.params
    )


def hidden(rng):
    """Other data (size, means, spreads, weights), the notebook's start on it, an outlier far from its fit.

    The fit from the start must be one the notebook's density arithmetic
    reaches too (it warm-starts the outlier run); the outlier's density must
    underflow to 0 under every fitted component (the notebook's point); and
    log-space EM on the data with the outlier must stay well posed.
    """
    data, truth = draws.two_clusters_1d(rng)
    start = draws.start_1d(data)
    n_iterations = logspace.notebook_problem().n_iterations
    if abs(start[0][0] - start[0][1]) < 0.1 * data.std() or not draws.well_posed(
        univariate, seed.Problem(data, start, n_iterations)
    ):
        return None
    with np.errstate(all="ignore"):
        run = univariate.fit(data, *start, n_iterations)
        unequal = _unequal(rng, data)
        if not _densities_representable(data, run) or unequal is None:
            return None
        problem = logspace.Problem(data, _outlier(rng, run.final), start, n_iterations, unequal)
        mu, sigma, pi = run.final
        if np.any(pi * norm.pdf(problem.outlier, mu, sigma) != 0):
            return None
    if not draws.well_posed(univariate, seed.Problem(problem.with_outlier, run.final, n_iterations)):
        return None
    return inputs(problem, int(len(data) * truth["w_true"][0]))


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ----

ANSWER_CELL = "logspace_em"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_LOOP = (
    "    log_weighted = np.zeros((len(data), len(pi)))\n"
    "    for k in range(len(pi)):\n"
    "        log_weighted[:, k] = np.log(pi[k]) + norm.logpdf(data, mu[k], sigma[k])\n"
)
_MAX = "np.max(log_weighted, axis=1, keepdims=True)"

SAMPLES = Samples(
    seed_style={
        "log_weighted[:, k]": "np.log(pi[k]) + norm.logpdf(data, mu[k], sigma[k])",
        "log_norm": "logsumexp(log_weighted, axis=1, keepdims=True)",
        "log_gamma": "log_weighted - log_norm",
        "log_likelihood": "logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=1).sum()",
    },
    mistakes={
        "log-weight-missing": {"log_weighted[:, k]": "norm.logpdf(data, mu[k], sigma[k])"},
        "log-weight-not-logged": {"log_weighted[:, k]": "pi[k] + norm.logpdf(data, mu[k], sigma[k])"},
        "logpdf-variance-as-scale": {"log_weighted[:, k]": "np.log(pi[k]) + norm.logpdf(data, mu[k], sigma[k] ** 2)"},
        "log-of-underflowed-density": {"log_weighted[:, k]": "np.log(pi[k]) + np.log(norm.pdf(data, mu[k], sigma[k]))"},
        "logsumexp-keepdims-missing": {"log_norm": "logsumexp(log_weighted, axis=1)"},
        "logsumexp-wrong-axis": {"log_norm": "logsumexp(log_weighted, axis=0, keepdims=True)"},
        "exp-before-logsumexp": {"log_norm": "np.log(np.sum(np.exp(log_weighted), axis=1, keepdims=True))"},
        "log-gamma-divided": {"log_gamma": "log_weighted / log_norm"},
        "loglik-exp-before-log": {
            "log_likelihood": "np.sum(np.log(np.sum(np.exp(log_weighted_densities(data, mu, sigma, pi)), axis=1)))"
        },
        "loglik-logsumexp-axis": {
            "log_likelihood": "logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=0).sum()"
        },
        "loglik-sum-of-logs": {"log_likelihood": "np.sum(log_weighted_densities(data, mu, sigma, pi))"},
        "loglik-weights-missing": {"log_likelihood": "logsumexp(norm.logpdf(data[:, None], mu, sigma), axis=1).sum()"},
    },
    mutants=(
        sample(
            "log of the vectorised product",
            "log-of-underflowed-density",
            edits=((_LOOP, "    log_weighted = np.log(pi * norm.pdf(data[:, None], mu, sigma))\n"),),
        ),
        sample("no axis", "logsumexp-wrong-axis", blanks={"log_norm": "logsumexp(log_weighted)"}),
        sample(
            "exponentiated in the ratio",
            "exp-before-logsumexp",
            blanks={"log_gamma": "np.log(np.exp(log_weighted) / np.exp(log_norm))"},
        ),
        sample(
            "log-sum-exp over everything",
            "loglik-logsumexp-axis",
            blanks={"log_likelihood": "logsumexp(log_weighted_densities(data, mu, sigma, pi))"},
        ),
    ),
    alternatives=(
        sample(
            "hand-written log density",
            blanks={
                "log_weighted[:, k]": "np.log(pi[k]) - np.log(sigma[k]) - 0.5 * np.log(2 * np.pi)"
                " - (data - mu[k]) ** 2 / (2 * sigma[k] ** 2)"
            },
        ),
        sample(
            "vectorised, a column by indexing",
            blanks={"log_norm": "logsumexp(log_weighted, axis=1)[:, None]"},
            edits=((_LOOP, "    log_weighted = np.log(pi) + norm.logpdf(data[:, None], mu, sigma)\n"),),
        ),
        sample(
            "the max shift by hand",
            blanks={"log_norm": f"{_MAX} + np.log(np.sum(np.exp(log_weighted - {_MAX}), axis=1, keepdims=True))"},
        ),
        sample(
            "np.logaddexp.reduce",
            blanks={
                "log_norm": "np.logaddexp.reduce(log_weighted, axis=1, keepdims=True)",
                "log_likelihood": "np.sum(np.logaddexp.reduce(log_weighted_densities(data, mu, sigma, pi), axis=1))",
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_log_weighted": call(logspace.check_log_weighted),
        "test_log_gamma": call(logspace.check_log_responsibilities),
        "test_log_likelihood": call(logspace.check_log_likelihood),
        "test_seed_agreement": call(logspace.check_seed_agreement),
        "test_outlier": call(logspace.check_outlier_run),
    },
    notebook=notebook,
    hidden=hidden,
    skip=("failure",),  # density EM run into 0/0 on the outlier, to be shown: no later cell reads it
    preload=("grader.checks.logspace",),
    samples=SAMPLES,
    blank_hints={
        "log_weighted[:, k]": "a[n, k] for component k at every point: the log of the E-step numerator "
        "pi_k N(x_n | mu_k, sigma_k^2), computed without ever forming the density itself "
        "(eq. 9.23 in logs)",
        "log_norm": "the log of each point's E-step denominator, ln sum_k exp(a[n, k]), one value per point that "
        "can be subtracted from every column (eq. 9.23 in logs)",
        "log_gamma": "the log-responsibilities ln gamma(z_nk), the log of eq. (9.23), from the two arrays above",
        "log_likelihood": "the log-likelihood: the sum over points of the log of sum over k of pi_k N(x_n | component "
        "k) (eq. 9.14), without leaving log space",
    },
)
