"""11_density_anomaly: a Gaussian mixture as a density, a generator and an anomaly detector."""

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import density
from grader.checks.core import CheckFailed
from grader.em import density as reference
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "11_density_anomaly"


def inputs(problem):
    """What the data cell defines: the points ``X`` (the moons' labels are dropped there)."""
    return Inputs("data", {"X": problem.data}, problem)


def notebook():
    return inputs(density.notebook_problem())


def transformed_moons(rng):
    """(N, 2): two moons of another size, noise and seed, rotated, scaled and moved."""
    n_samples = int(rng.integers(200, 401))
    data = density.moons(n_samples, float(rng.uniform(0.05, 0.12)), int(rng.integers(2**31)))
    rotation = density._rotation(rng.uniform(0, 2 * np.pi))
    return (data - data.mean(axis=0)) @ rotation.T * rng.uniform(0.5, 3.0) + rng.uniform(-5.0, 5.0, size=2)


def reference_passes(problem):
    """Every check passes on the reference functions (the sampler with the checks' own seed included)."""
    ns = {
        "X": problem.data,
        INPUTS: problem,
        "log_density": reference.log_density,
        "bic": reference.bic,
        "sample_mixture": reference.sample,
        "anomalies": reference.anomalies,
    }
    try:
        for _, check in density.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return True


def hidden(rng):
    """Other moons, other fitted sizes (2-8 components), another made-up mixture, percentiles and seed."""
    data = transformed_moons(rng)
    problem = density.Problem(
        data=data,
        data_name=f"{len(data)} points on two other moons",
        fitted_components=tuple(int(K) for K in np.sort(rng.choice(np.arange(2, 9), 3, replace=False))),
        mixture=density.made_up_mixture(rng),
        percentiles=tuple(int(p) for p in np.sort(rng.choice(np.arange(1, 16), 2, replace=False))),
        cases_seed=int(rng.integers(2**31)),
    )
    if not reference_passes(problem):
        return None
    draws.read_only(data, *problem.mixture)
    return inputs(problem)


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ---

ANSWER_CELL = "density"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_EINSUM = 'np.einsum("nij,nj->ni", chol[labels], z)'

SAMPLES = Samples(
    seed_style={
        "log_p": "logsumexp(np.log(weights) + log_gauss, axis=1)",
        "n_params": "K * D + (K - 1) + K * D * (D + 1) // 2",
        "bic_value": "-2 * log_likelihood + n_params * np.log(n_samples)",
        "labels": "rng.choice(len(weights), size=n_samples, p=weights)",
        "samples": f"means[labels] + {_EINSUM}",
        "threshold": "np.percentile(log_p, percentile)",
        "flagged": "log_p < threshold",
    },
    mistakes={
        "density-max-not-logsumexp": {"log_p": "np.max(np.log(weights) + log_gauss, axis=1)"},
        "density-sum-of-logs": {"log_p": "np.sum(np.log(weights) + log_gauss, axis=1)"},
        "density-weights-missing": {"log_p": "logsumexp(log_gauss, axis=1)"},
        "density-exp-underflow": {"log_p": "np.log(np.sum(weights * np.exp(log_gauss), axis=1))"},
        "covariance-entries-not-symmetric": {"n_params": "K * D + (K - 1) + K * D * D"},
        "weights-all-counted": {"n_params": "K * D + K + K * D * (D + 1) // 2"},
        "criterion-loglik-sign": {"bic_value": "2 * log_likelihood + n_params * np.log(n_samples)"},
        "bic-log-n-missing": {"bic_value": "-2 * log_likelihood + n_params"},
        "sampling-single-component": {"labels": "np.full(n_samples, np.argmax(weights))"},
        "sampling-uniform-components": {"labels": "rng.choice(len(weights), size=n_samples)"},
        "sampling-covariance-as-scale": {"samples": 'means[labels] + np.einsum("nij,nj->ni", covariances[labels], z)'},
        "sampling-cholesky-transposed": {"samples": 'means[labels] + np.einsum("nji,nj->ni", chol[labels], z)'},
        "sampling-ignores-rng": {"labels": "np.random.choice(len(weights), size=n_samples, p=weights)"},
        "anomaly-wrong-tail": {"threshold": "np.percentile(log_p, 100 - percentile)"},
        "anomaly-flagged-above": {"flagged": "log_p > threshold"},
        "anomaly-density-units": {"threshold": "np.percentile(np.exp(log_p), percentile)"},
        "anomaly-percentile-as-fraction": {"threshold": "np.percentile(log_p, percentile / 100)"},
    },
    mutants=(
        sample(
            "weights added, not their logs",
            "density-weights-missing",
            blanks={"log_p": "logsumexp(weights + log_gauss, axis=1)"},
        ),
        sample(
            "components by rng.integers",
            "sampling-uniform-components",
            blanks={"labels": "rng.integers(0, len(weights), size=n_samples)"},
        ),
        sample(
            "one component drawn for all the points",
            "sampling-single-component",
            blanks={"labels": "np.full(n_samples, rng.choice(len(weights), p=weights))"},
        ),
    ),
    alternatives=(
        sample(
            "positional rng.choice, a loop with rng.multivariate_normal, np.quantile",
            blanks={
                "labels": "rng.choice(np.arange(len(weights)), n_samples, True, weights)",
                "samples": "np.array([rng.multivariate_normal(means[k], covariances[k]) for k in labels])",
                "threshold": "np.quantile(log_p, percentile / 100)",
            },
        ),
        sample(
            "log-sum-exp by hand, inverse-CDF components, matmul",
            blanks={
                "log_p": "np.max(np.log(weights) + log_gauss, axis=1) + np.log(np.sum(np.exp(np.log(weights) + "
                "log_gauss - np.max(np.log(weights) + log_gauss, axis=1, keepdims=True)), axis=1))",
                "labels": "np.minimum(np.searchsorted(np.cumsum(weights), rng.random(n_samples), side='right'), "
                "len(weights) - 1)",
                "samples": "(chol[labels] @ z[:, :, None])[:, :, 0] + means[labels]",
                "flagged": "threshold > log_p",
            },
        ),
        sample(
            "np.logaddexp.reduce, float division, terms swapped",
            blanks={
                "log_p": "np.logaddexp.reduce(log_gauss + np.log(weights)[None, :], axis=1)",
                "n_params": "K * D * (D + 3) / 2 + K - 1",
                "bic_value": "n_params * np.log(n_samples) - 2 * log_likelihood",
                "threshold": "np.percentile(a=log_p, q=percentile)",
                "flagged": "np.less(log_p, threshold)",
            },
        ),
    ),
    sample_class=(
        "seed",
        "density-weights-missing",
        "blank",
        "correct: log-sum-exp by hand, inverse-CDF components, matmul",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_log_density": call(density.check_log_density),
        "test_bic": call(density.check_bic),
        "test_sample_components": call(density.check_sample_components),
        "test_sample_points": call(density.check_sample_points),
        "test_anomalies": call(density.check_anomalies),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.density", "sklearn.mixture", "sklearn.datasets", "scipy.stats"),
    samples=SAMPLES,
    blank_hints={
        "log_p": "ln p(x_n) for every point: the log-sum-exp over k of ln pi_k + ln N(x_n | mu_k, Sigma_k) "
        "(eq. 9.7 in logs), shape (N,)",
        "n_params": "the free parameters M of K full-covariance components in D dimensions: means, weights "
        "(they sum to 1) and symmetric covariances (notebook 06)",
        "bic_value": "-2 log-likelihood + n_params ln(n_samples) (PRML eq. 4.139 times -2)",
        "labels": "a component index z_n for each of the n_samples points, drawn from rng with p(z_n = k) = pi_k "
        "(eq. 9.10)",
        "samples": "each point's mean plus its component's Cholesky factor times its standard normal z_n, "
        "shape (n_samples, D) (PRML section 8.1.2)",
        "threshold": "the percentile-th percentile of the log densities log_p (PDSH section 05.12)",
        "flagged": "True for the points whose log density lies below the threshold",
    },
)
