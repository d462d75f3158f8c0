"""Student answers typed into the release's blanks: the seed's style, and typical mistakes.

``fill_blanks`` turns a release notebook into a submission, the way a student
fills the ``lhs = ###`` lines. The bundled sample class and the tests are made
from these answers, so they always match the current release.
"""

import copy
import re

BLANK_LINE = re.compile(r"^(?P<indent>\s*)(?P<target>.+?) = ###\s*$")


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


#: Typical wrong answers: (assignment, misconception id) -> blanks that differ from the seed style.
MISTAKES = {
    ("01_em_1d", "sigma-is-variance"): {"sigma[k]": "np.sum(gamma[:, k] * (data - mu[k]) ** 2) / N_k[k]"},
    ("01_em_1d", "mean-divided-by-n"): {"mu[k]": "np.sum(gamma[:, k] * data) / len(data)"},
    ("01_em_1d", "weights-missing-in-estep"): {"gamma[:, k]": "gaussian_pdf(data, mu[k], sigma[k])"},
    ("01_em_1d", "variance-as-scale"): {"gamma[:, k]": "pi[k] * gaussian_pdf(data, mu[k], sigma[k] ** 2)"},
    ("01_em_1d", "weights-not-normalised"): {"pi[k]": "N_k[k]"},
    ("02_em_2d", "covariance-unweighted"): {
        "cov[k]": "np.einsum('ni,nj->nij', diff, diff).sum(axis=0) / N_k[k]"},
    ("02_em_2d", "mean-divided-by-n"): {"mu[k]": "(gamma[:, k][:, np.newaxis] * data).sum(axis=0) / len(data)"},
    ("02_em_2d", "loglik-wrong"): {"log_likelihood": "np.sum(likelihood.sum(axis=1))"},
}
