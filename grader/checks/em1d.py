"""Checks for notebook 01 (1D EM), called from its self-check and test cells with ``globals()``."""

from ..em import seed, univariate
from .core import Namespace
from .gmm import GMMChecks, Spec
from .selfcheck import report

_checks = GMMChecks(Spec(em=univariate, spread="sigma", problem=seed.problem_1d, history_offset=0))

check_estep = _checks.check_estep
check_mu = _checks.check_mu
check_sigma = _checks.check_spread
check_pi = _checks.check_pi
check_log_likelihood = _checks.check_log_likelihood
finite_prefix = _checks.finite_prefix


def check_convergence(ns: Namespace) -> None:
    """The log-likelihood values follow eq. (9.14), never decrease, and the run ends where EM ends.

    Notebook 01 gives the log-likelihood lines as code and grades them here,
    with the run, since it has no log-likelihood cell of its own: a student
    who edits them must still be told when eq. (9.14) is no longer computed.
    """
    _checks.check_convergence(ns)
    check_log_likelihood(ns)


CHECKS = [
    ("E-step: responsibilities gamma (eq. 9.23)", check_estep),
    ("M-step: means mu (eq. 9.24)", check_mu),
    ("M-step: standard deviations sigma (eq. 9.25)", check_sigma),
    ("M-step: mixing weights pi (eq. 9.26)", check_pi),
    ("Log-likelihood (eq. 9.14) never decreases; the fit matches EM from this start", check_convergence),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your EM is correct.")
