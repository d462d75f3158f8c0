"""Checks for notebook 02 (2D full-covariance EM), called from its cells with ``globals()``."""

import numpy as np

from ..em import multivariate, seed
from ..misconceptions import hint
from .core import CheckFailed, Namespace, all_close, as_array, fetch, quiet
from .gmm import GMMChecks, Spec
from .selfcheck import report

_checks = GMMChecks(
    Spec(em=multivariate, spread="cov", problem=seed.problem_2d, history_offset=1, history_has_own_check=True)
)

check_estep = _checks.check_estep
check_mu = _checks.check_mu
check_cov = _checks.check_spread
check_pi = _checks.check_pi
check_log_likelihood = _checks.check_log_likelihood
check_convergence = _checks.check_convergence
finite_prefix = _checks.finite_prefix


def check_history(ns: Namespace) -> None:
    """responsibilities_over_time: the initial gamma, then one distinct (N, K) array per iteration.

    A loop that raised because an update made the parameters invalid is judged
    on the iterations it recorded: the update is to blame, not the record.
    """
    with quiet():
        history = fetch(ns, "responsibilities_over_time")
        n_iterations = int(fetch(ns, "n_iterations"))
        if not isinstance(history, (list, tuple)):
            raise CheckFailed("responsibilities_over_time should be a list: keep the line that appends to it.")
        run = _checks._run(ns)
        broken = not run.complete and run.broken_parameters
        if len(history) != n_iterations + 1 and not broken:
            raise CheckFailed(
                "responsibilities_over_time should hold the initial gamma plus one entry per "
                f"iteration ({n_iterations + 1} arrays)."
            )
        data = np.asarray(fetch(ns, "data"))
        K = int(fetch(ns, "K"))
        entries = [
            as_array({"entry": h}, "entry", (len(data), K), f"responsibilities_over_time[{i}]", finite=not broken)
            for i, h in enumerate(history)
        ]
        if not broken and not all_close(entries[-1], as_array(ns, "gamma", (len(data), K))):
            raise CheckFailed(
                "The last entry of responsibilities_over_time is not the final gamma: "
                "append the responsibilities right after the E-step."
            )
        first_estep, last_estep = entries[1], entries[-1]
        moved = not all(
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and all_close(a, b)
            for a, b in zip(_checks._run(ns).params[0], _checks._run(ns).params[-1])
        )
        if len(entries) > 2 and moved and all_close(first_estep, last_estep):
            raise CheckFailed(hint("history-aliased"), ["history-aliased"])


CHECKS = [
    ("E-step: responsibilities gamma (eq. 9.23)", check_estep),
    ("M-step: means mu (eq. 9.24)", check_mu),
    ("M-step: covariances cov (eq. 9.25)", check_cov),
    ("M-step: mixing weights pi (eq. 9.26)", check_pi),
    ("Log-likelihood formula (eq. 9.14)", check_log_likelihood),
    ("Responsibilities recorded per iteration", check_history),
    ("Log-likelihood never decreases; the fit matches EM from this start", check_convergence),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your EM is correct.")
