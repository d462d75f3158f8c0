"""01_em_1d: the seed notebook's 1D two-component EM (eqs. 9.23-9.27)."""

from grader.assignments import Assignment, Inputs, both, draws
from grader.checks import em1d
from grader.em import seed, univariate

TRUTH = {"w_true": [0.7, 0.3], "mu_true": [0, 5], "sigma_true": [1, 1]}


def inputs(problem, truth):
    """What the data cell defines, for ``problem``'s data; the init cell's start follows from it."""
    n_samples = len(problem.data)
    first = int(n_samples * truth["w_true"][0])
    variables = {"data": problem.data, "n_samples": n_samples, "n_samples_component_1": first,
                 "n_samples_component_2": n_samples - first, "K": problem.n_components, **truth}
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


ASSIGNMENT = Assignment(
    id="01_em_1d",
    grades={"test_estep": both(em1d.check_estep), "test_mu": both(em1d.check_mu),
            "test_sigma": both(em1d.check_sigma), "test_pi": both(em1d.check_pi),
            "test_convergence": both(em1d.check_convergence)},
    notebook=notebook,
    hidden=hidden,
    hidden_view=em1d.finite_prefix,
    preload=("grader.checks.em1d",),
    blank_hints={
        "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
        "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
        "sigma[k]": "the square root of the responsibility-weighted variance around the new mu[k] (eq. 9.25)",
        "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
    },
)
