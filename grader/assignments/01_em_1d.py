"""01_em_1d: the seed notebook's 1D two-component EM (eqs. 9.23-9.27)."""

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import em1d
from grader.em import seed, univariate
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "01_em_1d"

TRUTH = {"w_true": [0.7, 0.3], "mu_true": [0, 5], "sigma_true": [1, 1]}


def inputs(problem, truth):
    """What the data cell defines, for ``problem``'s data; the init cell's start follows from it."""
    n_samples = len(problem.data)
    first = int(n_samples * truth["w_true"][0])
    variables = {
        "data": problem.data,
        "n_samples": n_samples,
        "n_samples_component_1": first,
        "n_samples_component_2": n_samples - first,
        "K": problem.n_components,
        **truth,
    }
    return Inputs("data", variables, problem)


def notebook():
    return inputs(seed.problem_1d(), TRUTH)


def hidden(rng):
    """Other data (size, means, spreads, weights), the notebook's own starting recipe on it."""
    data, truth = draws.two_clusters_1d(rng)
    problem = seed.Problem(data, draws.start_1d(data), seed.problem_1d().n_iterations)
    if abs(problem.start[0][0] - problem.start[0][1]) < 0.1 * data.std() or not draws.well_posed(univariate, problem):
        return None
    return inputs(problem, truth)


# --- sample answers: the seed's style, every catalogued mistake as a student makes it, correct alternatives --------

EM_CELL = "em_loop"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=EM_CELL, **answers)


_SEED_MU_SIGMA_1D = (
    "        mu[k] = np.sum(gamma[:, k] * data) / N_k[k]\n"
    "        sigma[k] = np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k])\n"
)
_ESTEP_LOOP_1D = (
    "    gamma = np.zeros((len(data), K))\n"
    "    for k in range(K):\n"
    "        gamma[:, k] = pi[k] * gaussian_pdf(data, mu[k], sigma[k])\n"
)
_NORMALISE_1D = "    gamma /= gamma.sum(axis=1, keepdims=True)  # Normalize\n"
_LOGLIK = "    log_likelihood = np.sum(np.log(likelihood.sum(axis=1)))\n"
_IMPORT_LOGSUMEXP = ("# EM algorithm\n", "# EM algorithm\nfrom scipy.special import logsumexp\n")

SAMPLES = Samples(
    seed_style={
        "gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k])",
        "mu[k]": "np.sum(gamma[:, k] * data) / N_k[k]",
        "sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k])",
        "pi[k]": "N_k[k] / len(data)",
    },
    mistakes={
        "sigma-is-variance": {"sigma[k]": "np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k]"},
        "mean-divided-by-n": {"mu[k]": "np.sum(gamma[:, k] * data) / len(data)"},
        "weights-missing-in-estep": {"gamma[:, k]": "gaussian_pdf(data, mu[k], sigma[k])"},
        "variance-as-scale": {"gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k] ** 2)"},
        "weights-not-normalised": {"pi[k]": "N_k[k]"},
        "weights-not-updated": {"pi[k]": "1 / K"},
        "variance-divided-by-n": {"sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / len(data))"},
        "variance-unweighted": {"sigma[k]": "np.sqrt(np.sum((data - mu[k]) ** 2) / N_k[k])"},
        "variance-bessel-corrected": {"sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / (N_k[k] - 1))"},
        "sigma-mean-absolute-deviation": {"sigma[k]": "np.sum(gamma[:, k] * np.abs(data - mu[k])) / N_k[k]"},
    },
    mutants=(
        sample(
            "normalised over points",
            "responsibilities-unnormalised",
            edits=((_NORMALISE_1D, "    gamma /= gamma.sum(axis=0)  # Normalize\n"),),
        ),
        sample("normalisation deleted", "responsibilities-unnormalised", edits=((_NORMALISE_1D, ""),)),
        sample(
            "sigma before mu",
            "old-mean-in-variance",
            edits=((_SEED_MU_SIGMA_1D, "".join(reversed(_SEED_MU_SIGMA_1D.splitlines(keepends=True)))),),
        ),
        sample(
            "no log",
            "loglik-wrong",
            edits=((_LOGLIK, "    log_likelihood = np.sum(likelihood.sum(axis=1))\n"),),
        ),
        sample(
            "sum over components",
            "loglik-wrong",
            edits=((_LOGLIK, "    log_likelihood = np.sum(np.log(likelihood.sum(axis=0)))\n"),),
        ),
        sample(
            "gamma allocated once",
            "history-aliased",
            edits=(
                (
                    "for iteration in range(n_iterations):\n",
                    "gamma = np.zeros((len(data), K))\nfor iteration in range(n_iterations):\n",
                ),
                ("    gamma = np.zeros((len(data), K))\n", ""),
                ("append(gamma.copy())", "append(gamma)"),
            ),
        ),
    ),
    alternatives=(
        sample(
            "hand-written density",
            blanks={
                "gamma[:, k]": "pi[k] * np.exp(-(data - mu[k]) ** 2 / (2 * sigma[k] ** 2)) / np.sqrt(2 * np.pi * sigma[k] ** 2)"  # noqa: E501
            },
        ),
        sample(
            "np.average",
            blanks={
                "mu[k]": "np.average(data, weights=gamma[:, k])",
                "sigma[k]": "np.sqrt(np.average((data - mu[k]) ** 2, weights=gamma[:, k]))",
                "pi[k]": "np.mean(gamma[:, k])",
            },
        ),
        sample(
            "einsum",
            blanks={
                "mu[k]": "np.einsum('n,n->', gamma[:, k], data) / N_k[k]",
                "sigma[k]": "np.sqrt(np.einsum('n,n,n->', gamma[:, k], data - mu[k], data - mu[k]) / N_k[k])",
            },
        ),
        sample(
            "vectorised E-step",
            edits=((_ESTEP_LOOP_1D, "    gamma = pi * norm.pdf(data[:, None], mu, sigma)\n"),),
        ),
        sample(
            "log-space E-step with logsumexp",
            edits=(
                _IMPORT_LOGSUMEXP,
                (
                    _ESTEP_LOOP_1D + _NORMALISE_1D,
                    "    log_weighted = np.log(pi) + norm.logpdf(data[:, None], mu, sigma)\n"
                    "    gamma = np.exp(log_weighted - logsumexp(log_weighted, axis=1, keepdims=True))\n",
                ),
                (_LOGLIK, "    log_likelihood = logsumexp(np.log(likelihood), axis=1).sum()\n"),
            ),
        ),
        sample(
            "vectorised M-step",
            edits=(
                (
                    "    for k in range(K):\n" + _SEED_MU_SIGMA_1D + "        pi[k] = N_k[k] / len(data)\n",
                    "    mu = gamma.T @ data / N_k\n"
                    "    sigma = np.sqrt((gamma * (data[:, None] - mu) ** 2).sum(axis=0) / N_k)\n"
                    "    pi = N_k / len(data)\n",
                ),
            ),
        ),
    ),
    sample_class=(
        "seed",
        "blank",
        "sigma-is-variance",
        "mean-divided-by-n",
        "weights-missing-in-estep",
        "old-mean-in-variance",
        "correct: np.average",
        "responsibilities-unnormalised: normalisation deleted",
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_estep": call(em1d.check_estep),
        "test_mu": call(em1d.check_mu),
        "test_sigma": call(em1d.check_sigma),
        "test_pi": call(em1d.check_pi),
        "test_convergence": call(em1d.check_convergence),
    },
    notebook=notebook,
    hidden=hidden,
    hidden_view=em1d.finite_prefix,
    preload=("grader.checks.em1d",),
    samples=SAMPLES,
    blank_hints={
        "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
        "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
        "sigma[k]": "the square root of the responsibility-weighted variance around the new mu[k] (eq. 9.25)",
        "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
    },
)
