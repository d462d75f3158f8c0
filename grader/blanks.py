"""IPython extension: running a cell with an unfilled ``lhs = ###`` blank says which blank, not SyntaxError.

Load it with ``%load_ext grader.blanks`` in a notebook's first code cell.

It can never change what a cell does: a cell is rewritten only if Python
would reject it anyway (a SyntaxError), and only if that is because a line
of real code reads ``<target> = ###``. The rewrite raises ``UnfilledBlank``,
so a rewritten cell fails exactly where it would have failed; a filled cell,
a ``###`` inside a string, or a cell magic reaches the kernel unchanged.
Grade cells therefore pass or fail on their own merit with or without it.
"""

import ast
import io
import tokenize

from IPython.core.inputtransformer2 import TransformerManager

#: The release's blank marker: nothing after the ``=`` but this comment.
BLANK = "###"

#: What each blank computes, shown to the student. Keyed by the blank's target.
HINTS = {
    "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
    "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
    "sigma[k]": "the square root of the responsibility-weighted variance around the new mu[k] (eq. 9.25)",
    "cov[k]": "the responsibility-weighted covariance around the new mu[k] (eq. 9.25)",
    "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
    "log_likelihood": "sum over points of log sum over k of pi_k N(x_n | component k) (eq. 9.14)",
    # 03_logspace
    "log_weighted[:, k]": "ln pi_k + ln N(x_n | mu_k, sigma_k^2) for every point, with norm.logpdf (eq. 9.23 in logs)",
    "log_norm": "each point's ln sum_k exp(log_weighted[n, k]): logsumexp over axis=1 with keepdims=True",
    "log_gamma": "the log-responsibilities: log_weighted minus each point's log_norm (eq. 9.23 in logs)",
    # 04_init_convergence
    "squared_distances": "each point's squared distance to its nearest centre chosen so far (k-means++)",
    "probabilities": "the k-means++ sampling probabilities: squared distances divided by their sum",
    "gains": "the change of the log-likelihood per iteration, divided by the number of samples",
    "converged": "True when the last `patience` per-sample gains are all below tol",
    "final_log_likelihoods": "the last log-likelihood of every run",
    "best": "the run with the highest final log-likelihood",
    # 05_singularities
    "mu": "the responsibility-weighted means of all components, shape (K, D) (eq. 9.24)",
    "weighted_scatter": "sum over n of gamma[n, k] (x_n - mu_k)(x_n - mu_k)^T (numerator of eq. 9.25)",
    "covariances[k]": "the covariance of eq. (9.25) plus the ridge reg_covar * I on its diagonal",
    "pi": "the mixing weights N_k / N of all components (eq. 9.26)",
    # 06_model_selection
    "n_means": "the number of free entries in the K mean vectors of length D",
    "n_weights": "the number of free mixing weights: K of them, but they sum to 1",
    "n_cov_full": "the free entries of K symmetric D x D covariance matrices",
    "n_cov_diag": "the free entries of K diagonal covariance matrices",
    "n_cov_tied": "the free entries of one symmetric D x D covariance matrix shared by all components",
    "n_cov_spherical": "the free entries of K covariances of the form sigma_k^2 I",
    "bic_value": "-2 log-likelihood + n_params ln(n_samples) (PRML eq. 4.139 times -2)",
    "aic_value": "-2 log-likelihood + 2 n_params (PRML eq. 1.73 times -2)",
    # 07_elbo
    "elbo_value": "sum over n and k of q[n, k] (log_joint[n, k] - ln q[n, k]), with xlogy(q, q) for q ln q (eq. 9.71)",
    "log_posterior": "ln p(z_n = k | x_n): log_joint minus each point's logsumexp over k (eq. 9.23 in logs)",
    "kl": "sum over n and k of q[n, k] (ln q[n, k] - log_posterior[n, k]), with xlogy(q, q) for q ln q (eq. 9.72)",
    # 08_kmeans_limit
    "log_weighted": "ln pi_k - (x_n - mu_k)^2 / (2 variance) for every point and component (eq. 9.42 in logs)",
    "nearest": "the index k of the closest mean for every point: argmin over k of (x_n - mu_k)^2 (eq. 9.2)",
    "r": "the one-hot (N, K) matrix with a 1 in column nearest[n] of row n (eq. 9.2)",
    "means": "sum_n w[n, k] x_n / sum_n w[n, k] for every k (eq. 9.4 with one-hot w, eq. 9.24 with soft w)",
}


class UnfilledBlank(Exception):
    """Raised instead of running a cell that still has ``###`` blanks."""

    def _render_traceback_(self):
        # One line in the notebook instead of a traceback through this module.
        return [f"UnfilledBlank: {self}"]


def _is_assignment_target(text):
    """``mu[k]`` or ``gamma[:, k]`` is; ``!echo x`` or ``f(x)`` is not."""
    try:
        tree = ast.parse(f"{text} = None")
    except SyntaxError:
        return False
    return isinstance(tree.body[0], ast.Assign) and len(tree.body[0].targets) == 1


def unfilled_blanks(source):
    """(line number, target) of every line of real code reading ``<target> = ###``.

    Tokens, not text, decide: ``=`` must be followed directly by a ``###``
    comment and the end of the statement, so a ``###`` inside a string or
    after a finished expression is not a blank. Source that cannot be
    tokenized (a cell magic's foreign language) has no blanks.
    """
    lines = source.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    found = []
    for equals, comment, end in zip(tokens, tokens[1:], tokens[2:]):
        if (equals.type == tokenize.OP and equals.string == "="
                and comment.type == tokenize.COMMENT and comment.string.startswith(BLANK)
                and end.type == tokenize.NEWLINE):
            number, column = equals.start
            target = lines[number - 1][:column].strip()
            if _is_assignment_target(target):
                found.append((number, target))
    return found


def python_rejects(source):
    """True if the cell, after IPython's standard syntax (magics, ``!``), is a SyntaxError."""
    code = TransformerManager().transform_cell(source)
    try:
        compile(code, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError:
        return True
    return False


def describe(blanks):
    """The one-line message: the first blank, what it computes, how many follow."""
    first_line, target = blanks[0]
    what = HINTS.get(target, "the expression described in the markdown above")
    more = f" ({len(blanks) - 1} more blank(s) below it)" if len(blanks) > 1 else ""
    return f"line {first_line}: `{target} = {BLANK}` is not filled in yet; it should compute {what}{more}."


def transform(lines):
    """IPython cleanup transformer: a cell failing only for its blanks becomes one ``raise UnfilledBlank``."""
    source = "".join(lines)
    if BLANK not in source:
        return lines
    blanks = unfilled_blanks(source)
    if not blanks or not python_rejects(source):
        return lines
    return [f"raise __import__('grader.blanks').blanks.UnfilledBlank({describe(blanks)!r})\n"]


def load_ipython_extension(ipython):
    # First in line, so line numbers are the editor's (IPython's own cleanup drops leading blank lines).
    if transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.insert(0, transform)


def unload_ipython_extension(ipython):
    if transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(transform)
