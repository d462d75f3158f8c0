"""07_elbo: the evidence lower bound and the KL gap of a 1D two-component mixture (PRML section 9.4)."""

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import lower_bound
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "07_elbo"


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


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ----

ANSWER_CELL = "bound"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_JOINT = "log_joint(x, mu, sigma, pi)"
_IMPORT_ENTROPIES = ("def elbo(", "from scipy.special import entr, rel_entr\n\n\ndef elbo(")

SAMPLES = Samples(
    seed_style={
        "elbo_value": f"np.sum(q * {_JOINT}) - np.sum(xlogy(q, q))",
        "log_posterior": "joint - logsumexp(joint, axis=1, keepdims=True)",
        "kl": "np.sum(xlogy(q, q)) - np.sum(q * log_posterior)",
    },
    mistakes={
        "elbo-entropy-missing": {"elbo_value": f"np.sum(q * {_JOINT})"},
        "elbo-entropy-sign": {"elbo_value": f"np.sum(q * {_JOINT}) + np.sum(xlogy(q, q))"},
        "elbo-uses-posterior": {
            "elbo_value": f"np.sum(q * ({_JOINT} - logsumexp({_JOINT}, axis=1, keepdims=True))) - np.sum(xlogy(q, q))"
        },
        "elbo-log-weight-missing": {
            "elbo_value": "np.sum(q * norm.logpdf(x[:, None], mu, sigma)) - np.sum(xlogy(q, q))"
        },
        "q-log-q-without-xlogy": {"elbo_value": f"np.sum(q * ({_JOINT} - np.log(q)))"},
        "mean-instead-of-sum": {"elbo_value": f"np.mean(np.sum(q * {_JOINT} - xlogy(q, q), axis=1))"},
        "posterior-is-joint": {"log_posterior": "joint"},
        "logsumexp-wrong-axis": {"log_posterior": "joint - logsumexp(joint, axis=0, keepdims=True)"},
        "logsumexp-keepdims-missing": {"log_posterior": "joint - logsumexp(joint, axis=1)"},
        "kl-sign": {"kl": "np.sum(q * log_posterior) - np.sum(xlogy(q, q))"},
        "kl-weighted-by-posterior": {"kl": "np.sum(np.exp(log_posterior) * (log_posterior - np.log(q)))"},
    },
    mutants=(
        sample(
            "q * np.log(q) in the KL",
            "q-log-q-without-xlogy",
            blanks={"kl": "np.sum(q * np.log(q)) - np.sum(q * log_posterior)"},
        ),
        sample(
            "mean of the KL terms", "mean-instead-of-sum", blanks={"kl": "np.mean(xlogy(q, q) - q * log_posterior)"}
        ),
    ),
    alternatives=(
        sample(
            "one sum each",
            blanks={
                "elbo_value": f"np.sum(q * {_JOINT} - xlogy(q, q))",
                "kl": "np.sum(xlogy(q, q) - q * log_posterior)",
            },
        ),
        sample(
            "0 ln 0 by np.where",
            blanks={
                "elbo_value": f"np.sum(q * {_JOINT}) - np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0))"  # noqa: E501
            },
        ),
        sample(
            "scipy's entr and rel_entr",
            edits=(_IMPORT_ENTROPIES,),
            blanks={
                "elbo_value": f"np.sum(q * {_JOINT}) + np.sum(entr(q))",
                "kl": "np.sum(rel_entr(q, np.exp(log_posterior)))",
            },
        ),
        sample(
            "log-sum-exp by hand",
            blanks={
                "log_posterior": "joint - joint.max(axis=1, keepdims=True) - np.log(np.exp(joint - joint.max(axis=1, "
                "keepdims=True)).sum(axis=1, keepdims=True))"
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_elbo": call(lower_bound.check_elbo),
        "test_elbo_tight": call(lower_bound.check_elbo_tight),
        "test_kl": call(lower_bound.check_kl),
        "test_decomposition": call(lower_bound.check_decomposition),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.lower_bound",),
    samples=SAMPLES,
    blank_hints={
        "elbo_value": "the evidence lower bound L(q, theta), one number: the sum over points and components of eq. "
        "(9.71), where entries of q may be exactly 0 and 0 ln 0 counts as 0",
        "log_posterior": "the log posterior ln p(z_n = k | x_n, theta) for every point and component, the log of "
        "the responsibilities of eq. (9.23)",
        "kl": "the gap KL(q || p(Z | X, theta)), one number: the sum over points and components of eq. (9.72), "
        "where entries of q may be exactly 0 and 0 ln 0 counts as 0",
    },
)
