"""07_elbo: the evidence lower bound and the KL gap of a 1D two-component mixture (PRML section 9.4)."""

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import lower_bound


def inputs(problem):
    """What the data cell defines, for ``problem``'s data: the start of notebook 01's recipe on it.

    The child keeps its own ``pi`` (1/K each, the same on every data) and
    its own functions log_joint and log_likelihood (code, the same on every
    data); no check reads them.
    """
    mu, sigma, pi = draws.start_1d(problem.data)
    variables = {"data": problem.data, "K": len(pi), "mu": mu, "sigma": sigma}
    return Inputs("data", variables, problem)


def notebook():
    return inputs(lower_bound.notebook_problem())


def hidden(rng):
    """Other data (size, means, spreads, weights) and other parameter sets and q made up from it.

    Any data of a few distinct points makes the checks' inputs valid (their
    parameter sets are drawn from the data and scaled by its spread), so no
    draw is refused.
    """
    data, _ = draws.two_clusters_1d(rng)
    return inputs(lower_bound.Problem(data, seed=int(rng.integers(1, 2**31 - 20))))


ASSIGNMENT = Assignment(
    id="07_elbo",
    grades={"test_elbo": call(lower_bound.check_elbo),
            "test_elbo_tight": call(lower_bound.check_elbo_tight),
            "test_kl": call(lower_bound.check_kl),
            "test_decomposition": call(lower_bound.check_decomposition)},
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.lower_bound",),
    blank_hints={
        "elbo_value": "sum over n and k of q[n, k] (log_joint[n, k] - ln q[n, k]), with xlogy(q, q) for q ln q "
                      "(eq. 9.71)",
        "log_posterior": "ln p(z_n = k | x_n): log_joint minus each point's logsumexp over k (eq. 9.23 in logs)",
        "kl": "sum over n and k of q[n, k] (ln q[n, k] - log_posterior[n, k]), with xlogy(q, q) for q ln q "
              "(eq. 9.72)",
    },
)
