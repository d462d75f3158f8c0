"""12_variational_mixture: the variational Bayesian mixture's Dirichlet factor and responsibilities (PRML 10.2)."""

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import variational_mixture
from grader.checks.core import CheckFailed, all_close
from grader.em import variational as reference
from grader.samples import Sample, Samples


def inputs(problem, points):
    """What the data cell defines for ``problem``: the data, K, the K start points and the one-hot start."""
    variables = {"data": problem.data, "K": problem.start.shape[1], "start_points": points, "resp_start": problem.start}
    return Inputs("data", variables, problem)


def notebook():
    problem = variational_mixture.notebook_problem()
    K = problem.start.shape[1]
    points = np.random.RandomState(variational_mixture.START_SEED).choice(problem.data, K, replace=False)
    return inputs(problem, points)


def clusters_1d(rng, n_clusters):
    """(N,): ``n_clusters`` 1D Gaussians, 150-450 points, each at least 3 spreads from the next."""
    n_samples = int(rng.integers(150, 451))
    spreads = rng.uniform(0.5, 2.0, size=n_clusters)
    gaps = rng.uniform(3.0, 6.0, size=n_clusters - 1) * spreads.max()
    means = rng.uniform(-6.0, 6.0) + np.concatenate([[0.0], np.cumsum(gaps)])
    weights = rng.dirichlet(np.full(n_clusters, 4.0))
    sizes = np.maximum(rng.multinomial(n_samples, weights), 10)
    return rng.permutation(np.concatenate([rng.normal(m, s, n) for m, s, n in zip(means, spreads, sizes)]))


def reference_passes(problem):
    """Every check passes on the reference functions (so the inputs are valid and every value finite)."""
    ns = {
        "data": problem.data,
        INPUTS: problem,
        "dirichlet_update": reference.dirichlet_concentration,
        "expected_log_weights": reference.expected_log_weights,
        "expected_weights": reference.expected_weights,
        "log_responsibilities": reference.log_responsibilities,
    }
    try:
        for _, check in variational_mixture.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return True


def stable(problem):
    """The run check's fits barely move when the start moves by rounding: correct code written differently agrees.

    A fit near a tie between two components could amplify rounding
    differences over the iterations; such a draw is refused.
    """
    jitter = 1 + 1e-12 * np.random.RandomState(0).uniform(-1, 1, problem.start.shape)
    for alpha_0 in variational_mixture.RUN_ALPHA_0S:
        prior = reference.default_prior(problem.data, alpha_0)
        weights = [
            reference.posterior_weights(reference.fit(problem.data, start, prior, variational_mixture.N_ITERATIONS))
            for start in (problem.start, problem.start * jitter)
        ]
        if not np.all(np.isfinite(weights)) or not np.allclose(weights[0], weights[1], rtol=1e-9, atol=1e-12):
            return False
    return True


def hidden(rng):
    """Other data (2 or 3 clusters, size, means, spreads), K from 5 to 7, K other data points as the start."""
    data = clusters_1d(rng, int(rng.integers(2, 4)))
    K = int(rng.integers(5, 8))
    seed = int(rng.integers(2**31))
    points = np.random.RandomState(seed).choice(data, K, replace=False)
    start = reference.start_from_points(data, K, seed)
    problem = variational_mixture.Problem(data, start, cases_seed=int(rng.integers(2**31 - 10)))
    if len(np.unique(points)) < K or not all_close(start.sum(axis=1), 1.0):
        return None
    if not reference_passes(problem) or not stable(problem):
        return None
    draws.read_only(data, start, points)
    return inputs(problem, points)


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ----

ASSIGNMENT_ID = "12_variational_mixture"
ANSWER_CELL = "variational"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_CONSTANT = "0.5 * np.log(2 * np.pi)"
_IMPORTS = (
    "def dirichlet_update(N_k, alpha_0):\n",
    "from scipy.special import log_softmax, psi\n\n\ndef dirichlet_update(N_k, alpha_0):\n",
)

SAMPLES = Samples(
    seed_style={
        "alpha": "alpha_0 + N_k",
        "expected_log_pi": "digamma(alpha) - digamma(alpha.sum())",
        "weights": "(alpha_0 + N_k) / (len(N_k) * alpha_0 + N_k.sum())",
        "log_rho": f"expected_log_pi + 0.5 * expected_log_lambda - {_CONSTANT} - 0.5 * expected_quad",
        "log_r": "log_rho - logsumexp(log_rho, axis=1, keepdims=True)",
    },
    mistakes={
        "alpha-prior-missing": {"alpha": "N_k"},
        "alpha-prior-minus-one": {"alpha": "alpha_0 - 1 + N_k"},
        "digamma-normaliser-missing": {"expected_log_pi": "digamma(alpha)"},
        "log-instead-of-digamma": {"expected_log_pi": "np.log(alpha) - np.log(alpha.sum())"},
        "weights-without-k-alpha": {"weights": "(alpha_0 + N_k) / N_k.sum()"},
        "weights-prior-missing": {"weights": "N_k / N_k.sum()"},
        "expected-log-precision-missing": {"log_rho": f"expected_log_pi - {_CONSTANT} - 0.5 * expected_quad"},
        "expected-log-precision-not-halved": {
            "log_rho": f"expected_log_pi + expected_log_lambda - {_CONSTANT} - 0.5 * expected_quad"
        },
        "expected-quadratic-not-halved": {
            "log_rho": f"expected_log_pi + 0.5 * expected_log_lambda - {_CONSTANT} - expected_quad"
        },
        "expected-log-weight-missing": {"log_rho": f"0.5 * expected_log_lambda - {_CONSTANT} - 0.5 * expected_quad"},
        "responsibilities-probability-space": {
            "log_r": "np.log(np.exp(log_rho) / np.exp(log_rho).sum(axis=1, keepdims=True))"
        },
        "responsibilities-wrong-axis": {"log_r": "log_rho - logsumexp(log_rho, axis=0, keepdims=True)"},
        "log-rho-unnormalised": {"log_r": "log_rho"},
    },
    mutants=(
        sample("the counts copied", "alpha-prior-missing", blanks={"alpha": "np.array(N_k, dtype=float)"}),
        sample(
            "the log of the mean weight",
            "log-instead-of-digamma",
            blanks={"expected_log_pi": "np.log(alpha / alpha.sum())"},
        ),
        sample(
            "N plus one alpha_0 below",
            "weights-without-k-alpha",
            blanks={"weights": "(alpha_0 + N_k) / (alpha_0 + N_k.sum())"},
        ),
        sample(
            "the log of a sum of exponentials",
            "responsibilities-probability-space",
            blanks={"log_r": "log_rho - np.log(np.sum(np.exp(log_rho), axis=1, keepdims=True))"},
        ),
        sample(
            "normalised over the whole array",
            "responsibilities-wrong-axis",
            blanks={"log_r": "log_rho - logsumexp(log_rho)"},
        ),
    ),
    alternatives=(
        sample(
            "np.add, np.sum, alpha over its sum, a [:, None] normaliser",
            blanks={
                "alpha": "np.add(N_k, alpha_0)",
                "expected_log_pi": "digamma(alpha) - digamma(np.sum(alpha))",
                "weights": "dirichlet_update(N_k, alpha_0) / np.sum(dirichlet_update(N_k, alpha_0))",
                "log_rho": "expected_log_pi[None, :] + (expected_log_lambda[None, :] - np.log(2 * np.pi) "
                "- expected_quad) / 2",
                "log_r": "log_rho - logsumexp(log_rho, axis=1)[:, None]",
            },
        ),
        sample(
            "the constant dropped, log-sum-exp by hand",
            blanks={
                "log_rho": "expected_log_pi + 0.5 * (expected_log_lambda - expected_quad)",
                "log_r": "log_rho - log_rho.max(axis=1, keepdims=True) - np.log(np.exp(log_rho - log_rho.max(axis=1, "
                "keepdims=True)).sum(axis=1, keepdims=True))",
            },
        ),
        sample(
            "N from the data and K from the notebook",
            blanks={"weights": "(alpha_0 + N_k) / (K * alpha_0 + len(data))"},
        ),
        sample(
            "scipy's psi and log_softmax",
            edits=(_IMPORTS,),
            blanks={
                "expected_log_pi": "psi(alpha) - psi(alpha.sum())",
                "weights": "(alpha_0 + N_k) / (alpha_0 * N_k.size + np.sum(N_k))",
                "log_r": "log_softmax(log_rho, axis=1)",
            },
        ),
    ),
    sample_class=(
        "seed",
        "alpha-prior-missing",
        "blank",
        "correct: the constant dropped, log-sum-exp by hand",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_concentration": call(variational_mixture.check_concentration),
        "test_expected_log_weights": call(variational_mixture.check_expected_log_weights),
        "test_responsibilities": call(variational_mixture.check_responsibilities),
        "test_switch_off": call(variational_mixture.check_switch_off),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.variational_mixture", "scipy.special"),
    samples=SAMPLES,
    blank_hints={
        "alpha": "the Dirichlet concentrations alpha_k = alpha_0 + N_k of q(pi), shape (K,) (eq. 10.58)",
        "expected_log_pi": "E[ln pi_k] = psi(alpha_k) - psi(alpha_hat), alpha_hat the sum of the alpha_k, shape (K,) "
        "(eq. 10.66)",
        "weights": "the expected weights E[pi_k] = (alpha_0 + N_k) / (K alpha_0 + N), shape (K,) (eq. 10.69)",
        "log_rho": "ln rho_nk = E[ln pi_k] + E[ln Lambda_k] / 2 - ln(2 pi) / 2 - E[(x_n - mu_k)^2 Lambda_k] / 2 for "
        "every point and component, shape (N, K) (eq. 10.46)",
        "log_r": "ln r_nk: ln rho_nk minus each point's log-sum-exp over the components, shape (N, K) (eq. 10.49)",
    },
)
