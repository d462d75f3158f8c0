"""The sandboxed child of a verification: the student's EM cell on a given problem, nothing else.

The namespace is what the notebook's locked cells define before the EM cell
(imports, ``gaussian_pdf``, ``data``, ``K``, the starting parameters, the
empty histories), built from the problem the grading side chose. Only the
student's solution cells run; the notebook's test cells never do, so nothing
the student's code patches (NumPy's comparisons, input transformers, trace
functions, ``__eq__``) meets a check. The variables travel back as plain
JSON (:mod:`.transport`).
"""

import json
import sys

import numpy as np

from ..runtime import sandbox
from .transport import encode, encode_list, encode_parameters

# Bound before the student's code runs, which may rebind the module attributes.
_dumps = json.dumps
_settrace, _setprofile = sys.settrace, sys.setprofile

IMPORTS = {
    "01_em_1d": "import numpy as np\nimport matplotlib.pyplot as plt\n"
                "from scipy.stats import norm, multivariate_normal\n\nfrom grader.checks import em1d\n",
    "02_em_2d": "import numpy as np\nimport matplotlib.pyplot as plt\n"
                "from scipy.stats import norm, multivariate_normal\n\nfrom grader.checks import em2d\n",
}

#: The rest of the locked cells' definitions, given the problem's arrays (same code as the notebooks).
DEFINITIONS = {
    "01_em_1d": """
n_samples = len(data)
n_samples_component_1 = int(n_samples * w_true[0])
n_samples_component_2 = n_samples - n_samples_component_1
K = len(pi)
log_likelihoods = []
params_history = []
responsibilities_over_time = []


def gaussian_pdf(x, mu, sigma):
    return norm.pdf(x, loc=mu, scale=sigma)
""",
    "02_em_2d": """
n_samples = len(data)
n1 = int(n_samples * pi_true[0])
n2 = n_samples - n1
K = len(pi)
N_k = gamma.sum(axis=0)
k = K - 1
diff = data - mu[k]
weighted_cov = cov[k]
responsibilities_over_time = [gamma.copy()]
log_likelihoods = []
params_history = []
""",
}

SPREAD = {"01_em_1d": "sigma", "02_em_2d": "cov"}


def namespace(assignment_id, setup, user_ns):
    """Fill ``user_ns`` with what the EM cell of ``assignment_id`` finds defined in the notebook.

    ``setup`` is (problem, initial responsibilities or None, true parameters), see :mod:`.problems`.
    """
    problem, initial_gamma, truth = setup
    exec(IMPORTS[assignment_id], user_ns)
    user_ns.update(truth)
    mu, spread, pi = (np.array(a, dtype=float) for a in problem.start)
    user_ns.update(data=np.array(problem.data, dtype=float), mu=mu, pi=pi)
    # the 2D notebook builds cov as a list of (D, D) arrays, and students index and assign into it
    user_ns[SPREAD[assignment_id]] = list(spread) if assignment_id == "02_em_2d" else spread
    if initial_gamma is not None:
        user_ns["gamma"] = np.array(initial_gamma, dtype=float)
    exec(DEFINITIONS[assignment_id], user_ns)


def collect(assignment_id, user_ns):
    """The variables the EM checks read, encoded for transport."""
    scalars = ["n_iterations", "gamma", "mu", SPREAD[assignment_id], "pi", "data", "K"]
    values = {name: encode(user_ns[name]) for name in scalars if name in user_ns}
    if "log_likelihoods" in user_ns:
        values["log_likelihoods"] = encode_list(user_ns["log_likelihoods"])
    if "params_history" in user_ns:
        values["params_history"] = encode_list(user_ns["params_history"], encode_parameters)
    if "responsibilities_over_time" in user_ns:
        values["responsibilities_over_time"] = encode_list(user_ns["responsibilities_over_time"])
    return values


def run(conn, assignment_id, sources, setup, limits, workdir):
    """Child entry point (see :func:`grader.pipeline.zygote.Zygote.spawn`): run, then send one JSON message."""
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    try:
        sandbox.enter(limits, workdir, {}, keep_fds=(conn.fileno(),))
    except Exception as error:  # a broken sandbox must be told apart from a student's crash
        conn.send_bytes(_dumps({"error": f"sandbox-error ({type(error).__name__})"}).encode())
        raise
    # no history database or saving thread in a throwaway process
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    namespace(assignment_id, setup, shell.user_ns)
    error = ""
    for name, source in sources:
        try:
            code = compile(TransformerManager().transform_cell(source), f"<cell {name}>", "exec")
            exec(code, shell.user_ns)
        except BaseException as exception:  # SystemExit too: a kernel keeps the state of a cell that raised
            error = f"{type(exception).__name__} in cell {name}"
            break
    _settrace(None)
    _setprofile(None)
    try:
        message = _dumps({"error": error, "values": collect(assignment_id, shell.user_ns)})
    except BaseException as exception:
        message = _dumps({"error": f"variables could not be sent ({type(exception).__name__})", "values": {}})
    conn.send_bytes(message.encode())
    conn.close()
