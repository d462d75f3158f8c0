"""Student answers typed into the release's blanks: the seed's style, and typical mistakes.

``fill_blanks`` turns a release notebook into a submission, the way a student
fills the ``lhs = ###`` lines. The bundled sample class and the tests are made
from these answers, so they always match the current release.
"""

import contextlib
import copy
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Optional

BLANK_LINE = re.compile(r"^(?P<indent>\s*)(?P<target>.+?) = ###\s*$")


def run_until(notebook, cell_id):
    """Execute the code cells up to and including ``cell_id`` in this process: (namespace, last exception or None).

    For tests and benchmarks that need a filled notebook's variables fast.
    IPython magic lines are skipped; output and warnings are discarded. A cell
    that raises keeps the state it reached and the next cells still run, as in
    a kernel.
    """
    import numpy as np

    ns, error = {}, None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.split("\n") if not line.startswith("%"))
            try:
                exec(compile(source, cell.id, "exec"), ns)
            except Exception as raised:
                error = raised
            if cell.id == cell_id:
                return ns, error
    raise ValueError(f"the notebook has no {cell_id!r} cell")


class UnknownBlank(KeyError):
    pass


def blanks(source):
    """Targets of the unfilled blanks in a cell's source, in order."""
    return [m.group("target") for m in map(BLANK_LINE.match, source.split("\n")) if m]


def fill_source(source, answers):
    """Replace each ``target = ###`` line by ``target = answers[target]``.

    Multi-line answers are indented to the blank's level.
    """
    out = []
    for line in source.split("\n"):
        match = BLANK_LINE.match(line)
        if not match:
            out.append(line)
            continue
        target, indent = match.group("target"), match.group("indent")
        if target not in answers:
            raise UnknownBlank(f"no answer for blank {target!r}")
        first, *rest = answers[target].split("\n")
        out.append(f"{indent}{target} = {first}")
        out.extend(indent + line_ for line_ in rest)
    return "\n".join(out)


def fill_blanks(notebook, answers):
    """A copy of ``notebook`` with every blank filled from ``answers`` ({target: expression})."""
    filled = copy.deepcopy(notebook)
    for cell in filled.cells:
        if cell.cell_type == "code" and blanks(cell.source):
            cell.source = fill_source(cell.source, answers)
    return filled


#: Answers as a student following the seed would type them, per assignment.
SEED_STYLE = {
    "01_em_1d": {
        "gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k])",
        "mu[k]": "np.sum(gamma[:, k] * data) / N_k[k]",
        "sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k])",
        "pi[k]": "N_k[k] / len(data)",
    },
    "02_em_2d": {
        "gamma[:, k]": "pi[k] * multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])",
        "mu[k]": "(gamma[:, k][:, np.newaxis] * data).sum(axis=0) / N_k[k]",
        "cov[k]": "(gamma[:, k][:, np.newaxis, np.newaxis] *\n"
                  "          np.einsum('ni,nj->nij', diff, diff)).sum(axis=0) / N_k[k]",
        "pi[k]": "N_k[k] / len(data)",
        "log_likelihood": "np.sum(np.log(likelihood.sum(axis=1)))",
    },
}


def variant(assignment_id, **changes):
    """The seed-style answers of an assignment with some blanks answered differently."""
    answers = dict(SEED_STYLE[assignment_id])
    unknown = set(changes) - set(answers)
    if unknown:
        raise UnknownBlank(f"{assignment_id} has no blanks {sorted(unknown)}")
    answers.update(changes)
    return answers


#: Typical wrong answers typed into the blanks: (assignment, misconception id) -> blanks that differ
#: from the seed style. Mistakes that live in the EM cell's given lines are in :data:`MUTANTS`.
MISTAKES = {
    ("01_em_1d", "sigma-is-variance"): {"sigma[k]": "np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k]"},
    ("01_em_1d", "mean-divided-by-n"): {"mu[k]": "np.sum(gamma[:, k] * data) / len(data)"},
    ("01_em_1d", "weights-missing-in-estep"): {"gamma[:, k]": "gaussian_pdf(data, mu[k], sigma[k])"},
    ("01_em_1d", "variance-as-scale"): {"gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k] ** 2)"},
    ("01_em_1d", "weights-not-normalised"): {"pi[k]": "N_k[k]"},
    ("01_em_1d", "weights-not-updated"): {"pi[k]": "1 / K"},
    ("01_em_1d", "variance-divided-by-n"): {
        "sigma[k]": "np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / len(data))"},
    ("01_em_1d", "variance-unweighted"): {"sigma[k]": "np.sqrt(np.sum((data - mu[k]) ** 2) / N_k[k])"},
    ("02_em_2d", "covariance-unweighted"): {
        "cov[k]": "np.einsum('ni,nj->nij', diff, diff).sum(axis=0) / N_k[k]"},
    ("02_em_2d", "covariance-divided-by-n"): {
        "cov[k]": "(gamma[:, k][:, np.newaxis, np.newaxis] *\n"
                  "          np.einsum('ni,nj->nij', diff, diff)).sum(axis=0) / len(data)"},
    ("02_em_2d", "mean-divided-by-n"): {"mu[k]": "(gamma[:, k][:, np.newaxis] * data).sum(axis=0) / len(data)"},
    ("02_em_2d", "weights-missing-in-estep"): {
        "gamma[:, k]": "multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])"},
    ("02_em_2d", "weights-not-normalised"): {"pi[k]": "N_k[k]"},
    ("02_em_2d", "weights-not-updated"): {"pi[k]": "pi[k]"},
    ("02_em_2d", "loglik-wrong"): {"log_likelihood": "np.sum(likelihood.sum(axis=1))"},
}


class UnknownGivenLine(ValueError):
    pass


def edit_source(source, edits):
    """Apply ``(given text, replacement)`` edits; each given text must occur exactly once."""
    for given, replacement in edits:
        if source.count(given) != 1:
            raise UnknownGivenLine(f"{given!r} occurs {source.count(given)} times, expected once")
        source = source.replace(given, replacement)
    return source


@dataclass(frozen=True)
class Sample:
    """A student's EM cell: blank answers that differ from the seed style, then edits of the filled cell.

    ``name`` says in a few words what the student wrote; ``misconception``
    is the catalogue id it should be diagnosed as (None for a correct answer).
    """

    assignment_id: str
    name: str
    misconception: Optional[str] = None
    blanks: dict = field(default_factory=dict)
    edits: tuple = ()

    @property
    def key(self):
        return f"{self.assignment_id}-{self.misconception or 'correct'}-{self.name}"

    def notebook(self, release):
        """The release notebook ``release`` filled in the way this student did."""
        filled = fill_blanks(release, variant(self.assignment_id, **self.blanks))
        if self.edits:
            (cell,) = [c for c in filled.cells if c.get("id") == EM_CELL]
            cell.source = edit_source(cell.source, self.edits)
        return filled


#: The id of the student's EM cell, where edits of given lines happen.
EM_CELL = "em_loop"

_SEED_MU_SIGMA_1D = ("        mu[k] = np.sum(gamma[:, k] * data) / N_k[k]\n"
                     "        sigma[k] = np.sqrt(np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k])\n")
_ESTEP_LOOP_1D = ("    gamma = np.zeros((len(data), K))\n"
                  "    for k in range(K):\n"
                  "        gamma[:, k] = pi[k] * gaussian_pdf(data, mu[k], sigma[k])\n")
_ESTEP_LOOP_2D = ("    gamma = np.zeros((len(data), K))\n"
                  "    for k in range(K):\n"
                  "        gamma[:, k] = pi[k] * multivariate_normal.pdf(data, mean=mu[k], cov=cov[k])\n")
_NORMALISE_1D = "    gamma /= gamma.sum(axis=1, keepdims=True)  # Normalize\n"
_NORMALISE_2D = "    gamma /= gamma.sum(axis=1, keepdims=True)\n"
_LOGLIK = "    log_likelihood = np.sum(np.log(likelihood.sum(axis=1)))\n"
_IMPORT_LOGSUMEXP = ("# EM algorithm\n", "# EM algorithm\nfrom scipy.special import logsumexp\n")

#: Every catalogued mistake as a student would make it, in the blanks or in the EM cell's given lines.
MUTANTS = [Sample(aid, "blank " + ", ".join(blanks), mid, blanks) for (aid, mid), blanks in MISTAKES.items()] + [
    Sample("01_em_1d", "normalised over points", "responsibilities-unnormalised",
           edits=((_NORMALISE_1D, "    gamma /= gamma.sum(axis=0)  # Normalize\n"),)),
    Sample("01_em_1d", "normalisation deleted", "responsibilities-unnormalised", edits=((_NORMALISE_1D, ""),)),
    Sample("01_em_1d", "sigma before mu", "old-mean-in-variance",
           edits=((_SEED_MU_SIGMA_1D, "".join(reversed(_SEED_MU_SIGMA_1D.splitlines(keepends=True)))),)),
    Sample("01_em_1d", "no log", "loglik-wrong", edits=((_LOGLIK, "    log_likelihood = np.sum(likelihood.sum(axis=1))\n"),)),
    Sample("01_em_1d", "sum over components", "loglik-wrong",
           edits=((_LOGLIK, "    log_likelihood = np.sum(np.log(likelihood.sum(axis=0)))\n"),)),
    Sample("01_em_1d", "gamma allocated once", "history-aliased",
           edits=(("for iteration in range(n_iterations):\n",
                   "gamma = np.zeros((len(data), K))\nfor iteration in range(n_iterations):\n"),
                  ("    gamma = np.zeros((len(data), K))\n", ""),
                  ("append(gamma.copy())", "append(gamma)"))),
    Sample("02_em_2d", "normalisation deleted", "responsibilities-unnormalised", edits=((_NORMALISE_2D, ""),)),
    Sample("02_em_2d", "normalised over points", "responsibilities-unnormalised",
           edits=((_NORMALISE_2D, "    gamma /= gamma.sum(axis=0)\n"),)),
    Sample("02_em_2d", "diff before mu", "covariance-old-mean",
           edits=(("        diff = data - mu[k]\n", ""),
                  ("        mu[k] = ", "        diff = data - mu[k]\n        mu[k] = "))),
    Sample("02_em_2d", "sum over components", "loglik-wrong",
           blanks={"log_likelihood": "np.sum(np.log(likelihood.sum(axis=0)))"}),
    Sample("02_em_2d", "without the weights", "loglik-wrong",
           blanks={"log_likelihood": "np.sum(np.log((likelihood / pi).sum(axis=1)))"}),
    Sample("02_em_2d", "gamma reused in place", "history-aliased",
           edits=(("    gamma = np.zeros((len(data), K))\n", ""), ("append(gamma.copy())", "append(gamma)"))),
]

#: Correct answers written differently from the seed: each must earn full marks with no diagnosis.
ALTERNATIVES = [
    Sample("01_em_1d", "hand-written density", blanks={
        "gamma[:, k]": "pi[k] * np.exp(-(data - mu[k]) ** 2 / (2 * sigma[k] ** 2)) / np.sqrt(2 * np.pi * sigma[k] ** 2)"}),
    Sample("01_em_1d", "np.average", blanks={
        "mu[k]": "np.average(data, weights=gamma[:, k])",
        "sigma[k]": "np.sqrt(np.average((data - mu[k]) ** 2, weights=gamma[:, k]))",
        "pi[k]": "np.mean(gamma[:, k])"}),
    Sample("01_em_1d", "einsum", blanks={
        "mu[k]": "np.einsum('n,n->', gamma[:, k], data) / N_k[k]",
        "sigma[k]": "np.sqrt(np.einsum('n,n,n->', gamma[:, k], data - mu[k], data - mu[k]) / N_k[k])"}),
    Sample("01_em_1d", "vectorised E-step", edits=(
        (_ESTEP_LOOP_1D, "    gamma = pi * norm.pdf(data[:, None], mu, sigma)\n"),)),
    Sample("01_em_1d", "log-space E-step with logsumexp", edits=(
        _IMPORT_LOGSUMEXP,
        (_ESTEP_LOOP_1D + _NORMALISE_1D,
         "    log_weighted = np.log(pi) + norm.logpdf(data[:, None], mu, sigma)\n"
         "    gamma = np.exp(log_weighted - logsumexp(log_weighted, axis=1, keepdims=True))\n"),
        (_LOGLIK, "    log_likelihood = logsumexp(np.log(likelihood), axis=1).sum()\n"))),
    Sample("01_em_1d", "vectorised M-step", edits=(
        ("    for k in range(K):\n" + _SEED_MU_SIGMA_1D + "        pi[k] = N_k[k] / len(data)\n",
         "    mu = gamma.T @ data / N_k\n"
         "    sigma = np.sqrt((gamma * (data[:, None] - mu) ** 2).sum(axis=0) / N_k)\n"
         "    pi = N_k / len(data)\n"),)),
    Sample("02_em_2d", "hand-written density", blanks={
        "gamma[:, k]": "pi[k] * np.exp(-0.5 * np.sum((data - mu[k]) @ np.linalg.inv(cov[k]) * (data - mu[k]), "
                       "axis=1)) / (2 * np.pi * np.sqrt(np.linalg.det(cov[k])))"}),
    Sample("02_em_2d", "np.average and np.cov with aweights", blanks={
        "mu[k]": "np.average(data, axis=0, weights=gamma[:, k])",
        "cov[k]": "np.cov(data, rowvar=False, aweights=gamma[:, k], bias=True)",
        "pi[k]": "gamma[:, k].mean()"}),
    Sample("02_em_2d", "einsum", blanks={
        "mu[k]": "np.einsum('n,ni->i', gamma[:, k], data) / N_k[k]",
        "cov[k]": "np.einsum('n,ni,nj->ij', gamma[:, k], diff, diff) / N_k[k]"}),
    Sample("02_em_2d", "matrix products", blanks={
        "mu[k]": "gamma[:, k] @ data / N_k[k]",
        "cov[k]": "(gamma[:, k] * diff.T) @ diff / N_k[k]"}),
    Sample("02_em_2d", "vectorised E-step", edits=(
        (_ESTEP_LOOP_2D, "    gamma = np.column_stack([pi[k] * multivariate_normal.pdf(data, mu[k], cov[k]) "
                         "for k in range(K)])\n"),)),
    Sample("02_em_2d", "log-space E-step with logsumexp", edits=(
        _IMPORT_LOGSUMEXP,
        (_ESTEP_LOOP_2D + _NORMALISE_2D,
         "    log_weighted = np.log(pi) + np.column_stack(\n"
         "        [multivariate_normal.logpdf(data, mu[k], cov[k]) for k in range(K)])\n"
         "    gamma = np.exp(log_weighted - logsumexp(log_weighted, axis=1, keepdims=True))\n")),
        blanks={"log_likelihood": "logsumexp(np.log(likelihood), axis=1).sum()"}),
]
