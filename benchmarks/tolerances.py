"""How far correct and mistaken EM code land from the reference: the evidence for RTOL and ATOL.

For every correct alternative (grader.samples.ALTERNATIVES, plus the seed
style) and every catalogued mistake (grader.samples.MUTANTS), the notebook's
cells run up to the EM loop; then each recorded iteration's E-step, M-step
and log-likelihood is compared with the reference computed from the same
recorded inputs, exactly as the checks do (grader/checks/gmm.py).

Two numbers per quantity, matching the two terms of the checks' test
``|actual - expected| <= ATOL + RTOL * |expected|``:

* rel: the largest ``|actual - expected| / |expected|`` over entries with
  ``|expected| >= ATOL / RTOL`` (where the relative term dominates);
* abs: the largest ``|actual - expected|`` over the smaller entries (tiny
  responsibilities, where only ATOL matters).

A correct alternative's rel must stay far below RTOL and its abs below ATOL;
a mistake is caught when some iteration's rel exceeds RTOL, so its largest
rel over the iterations (and over the quantities it touches) must stay far
above it. Run: ``python benchmarks/tolerances.py``.
"""

import contextlib
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np

from grader.checks import em1d, em2d
from grader.checks.core import ATOL, RTOL, quiet
from grader.course import DEFAULT_ROOT
from grader.samples import ALTERNATIVES, MUTANTS, Sample, run_until

CHECKS = {"01_em_1d": em1d, "02_em_2d": em2d}
FLOOR = ATOL / RTOL
#: Mistakes whose numbers are right: they are caught by what the loop stored, not by a tolerance.
NOT_NUMERIC = {"history-aliased"}


def differences(actual, expected):
    """(rel, abs) as described in the module docstring; NaN where there is nothing to compare."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape or not np.all(np.isfinite(expected)):
        return np.nan, np.nan
    with np.errstate(all="ignore"):
        gap = np.abs(actual - expected)
        gap[~np.isfinite(gap)] = np.inf
        large = np.abs(expected) >= FLOOR
        rel = np.max(gap[large] / np.abs(expected[large]), initial=0.0)
        small = np.max(gap[~large], initial=0.0)
    return rel, small


def scatter(data, gamma, mean, n_k):
    """The reference spread update around the student's new mean: sigma (K,) or cov (K, D, D)."""
    if data.ndim == 1:
        return np.sqrt((gamma * (data[:, None] - mean[None, :]) ** 2).sum(axis=0) / n_k)
    return np.stack(
        [(gamma[:, k, None] * (data - mean[k])).T @ (data - mean[k]) / n_k[k] for k in range(gamma.shape[1])]
    )


def measure(sample, release):
    """{quantity: (largest rel, largest abs)} over the iterations of one sample's run."""
    checks = CHECKS[sample.assignment_id]._checks
    ns = run_until(sample.notebook(release), "em_loop")[0]
    data = np.asarray(ns["data"], dtype=float)
    with quiet():
        run = checks._run(ns)
    em = checks.spec.em
    found = {}

    def record(quantity, actual, expected):
        rel, small = differences(actual, expected)
        old_rel, old_small = found.get(quantity, (np.nan, np.nan))
        found[quantity] = (np.fmax(old_rel, rel), np.fmax(old_small, small))

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in run.steps:
            mu, spread, pi = step.before
            with contextlib.suppress(np.linalg.LinAlgError, ValueError):
                record("gamma", step.gamma, em.e_step(data, mu, spread, pi))
            n_k = step.gamma.sum(axis=0)
            means = step.gamma.T @ data / (n_k if data.ndim == 1 else n_k[:, None])
            record("mu", step.after[0], means)
            record("spread", step.after[1], scatter(data, step.gamma, step.after[0], n_k))
            record("pi", step.after[2], n_k / len(data))
        for after, value in zip(run.params[1:], ns.get("log_likelihoods", [])):
            with contextlib.suppress(np.linalg.LinAlgError, ValueError):
                record("loglik", [value], [em.log_likelihood(data, *after)])
        if run.complete:
            problem = checks.spec.problem()
            reference = em.fit(problem.data, *problem.start, problem.n_iterations).final
            for actual, expected in zip(run.params[-1], reference):
                record("final fit", actual, expected)
    return found


def fmt(value):
    return "—" if np.isnan(value) else f"{value:.1e}"


def main():
    quantities = ["gamma", "mu", "spread", "pi", "loglik", "final fit"]
    releases = {aid: nbformat.read(DEFAULT_ROOT / "notebooks" / aid / f"{aid}.ipynb", as_version=4) for aid in CHECKS}
    correct = [Sample(aid, "seed style") for aid in CHECKS] + ALTERNATIVES
    print(f"RTOL = {RTOL:g}, ATOL = {ATOL:g}; rel over entries with |expected| >= {FLOOR:g}, abs below that.\n")
    print("Correct implementations: largest difference from the reference over all iterations (rel / abs)\n")
    print("| notebook | implementation | " + " | ".join(quantities) + " |")
    print("|---" * (len(quantities) + 2) + "|")
    worst_rel, worst_abs = 0.0, 0.0
    for sample in correct:
        found = measure(sample, releases[sample.assignment_id])
        cells = [f"{fmt(found[q][0])} / {fmt(found[q][1])}" if q in found else "—" for q in quantities]
        worst_rel = max([worst_rel] + [found[q][0] for q in found if not np.isnan(found[q][0])])
        worst_abs = max([worst_abs] + [found[q][1] for q in found if not np.isnan(found[q][1])])
        print(f"| {sample.assignment_id} | {sample.name} | " + " | ".join(cells) + " |")
    print(f"\nLargest over all correct implementations: rel {worst_rel:.1e}, abs {worst_abs:.1e}\n")

    print("Mistakes: largest relative difference from the reference over the iterations, per quantity;")
    print("'final fit' is the end of the run against EM from the notebook's start (the convergence check).")
    print("'caught by' is the largest per-iteration rel: some iteration must exceed RTOL.\n")
    print("| notebook | misconception | how | " + " | ".join(quantities) + " | caught by |")
    print("|---" * (len(quantities) + 4) + "|")
    smallest = (np.inf, None)
    for sample in MUTANTS:
        found = measure(sample, releases[sample.assignment_id])
        rels = {q: found[q][0] for q in found if not np.isnan(found[q][0]) and q != "final fit"}
        detection = max(rels.values(), default=0.0)
        if sample.misconception in NOT_NUMERIC:
            caught_by = "identity of the stored arrays"
        else:
            caught_by = f"{detection:.1e}"
            if detection < smallest[0]:
                smallest = (detection, sample)
        print(
            f"| {sample.assignment_id} | {sample.misconception} | {sample.name} | "
            + " | ".join(fmt(found[q][0]) if q in found else "—" for q in quantities)
            + f" | {caught_by} |"
        )
    print(
        f"\nSmallest 'caught by' (largest rel of a mistake): {smallest[0]:.1e} "
        f"({smallest[1].assignment_id} {smallest[1].misconception}, {smallest[1].name})"
    )
    print(
        f"Margins: RTOL / worst correct rel = {RTOL / max(worst_rel, 1e-300):.0e}; "
        f"smallest mistake rel / RTOL = {smallest[0] / RTOL:.0e}"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
