"""Out-of-kernel verification of the EM notebooks (01_em_1d, 02_em_2d).

In plain nbgrader the test cells run in the student's kernel, after the
student's code, so that code can disarm them (patch ``np.allclose``, turn
later cells into ``pass``, return objects equal to anything) or simply type
in the seed run's final numbers. Here the student's solution cells (found by
their nbgrader metadata) run alone in a fresh sandboxed child on two
problems: the notebook's own and a hidden one drawn from the course secret
(:mod:`.problems`). The child sends its variables back as plain JSON
(:mod:`.transport`), and the checks of :mod:`grader.checks` judge them here,
where no student code runs. A grade cell earns its points only when both runs
pass its checks.

Notes: ``tampered`` when the kernel's test cell passed but the clean run on
the notebook's own data fails it; ``hard-coded`` when the notebook's data
passes and the hidden data fails.

nbformat and nbgrader are imported by the functions that record verdicts in
the gradebook: the zygote imports this package (for :mod:`.child`) and would
otherwise spend a second loading them.
"""

import dataclasses
import inspect
import json
import shutil
import tempfile
import time
import types

import numpy as np

from ..checks import CheckFailed, em1d, em2d
from ..checks.gmm import GMMChecks
from ..misconceptions import diagnosis_ids
from ..runtime import executor, sandbox, zygote
from . import child, transport
from .problems import course_secret, hidden_setup, seed_setup

__all__ = ["GRADES", "course_secret", "execute_and_verify", "record", "run_checks", "solution_cells",
           "VerifiedExecution", "VERDICTS"]

#: Check modules of the verified notebooks.
MODULES = {"01_em_1d": em1d, "02_em_2d": em2d}
#: grade_id -> the check its test cell calls (first with ``invariants_only=True``, then in full).
GRADES = {
    "01_em_1d": {"test_estep": "check_estep", "test_mu": "check_mu", "test_sigma": "check_sigma",
                 "test_pi": "check_pi", "test_convergence": "check_convergence"},
    "02_em_2d": {"test_estep": "check_estep", "test_mu": "check_mu", "test_cov": "check_cov",
                 "test_pi": "check_pi", "test_loglik": "check_log_likelihood", "test_history": "check_history",
                 "test_convergence": "check_convergence"},
}
#: File next to nbgrader's autograded copy: what verification decided, for the reports.
VERDICTS = "grader-verification.json"
#: Seconds the child gets beyond twice the cell time limit (the hidden problem may be larger than the seed's).
GRACE = 5.0
MAX_MESSAGE = 64 * 2**20


def solution_cells(notebook):
    """[(grade_id, source)] of the notebook's solution code cells, in notebook order, by metadata only."""
    cells = []
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and not meta.get("grade"):
            source = cell.get("source", "")
            cells.append((str(meta.get("grade_id", cell.get("id", ""))),
                          "".join(source) if isinstance(source, list) else source))
    return cells


def checks_on(assignment_id, problem):
    """The check module's functions, judging against ``problem`` instead of the notebook's seed problem."""
    module = MODULES[assignment_id]
    bound = GMMChecks(dataclasses.replace(module._checks.spec, problem=lambda: problem))
    scope = dict(vars(module), _checks=bound)
    for name, value in vars(module).items():
        if inspect.ismethod(value) and value.__self__ is module._checks:
            scope[name] = getattr(bound, value.__func__.__name__)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            # module-level checks (em1d.check_convergence, em2d.check_history) look names up in `scope`
            scope[name] = types.FunctionType(value.__code__, scope, value.__name__, value.__defaults__,
                                             value.__closure__)
    return scope


def _spawn(assignment_id, sources, setup, limits):
    workdir = tempfile.mkdtemp(prefix="grader-verify-")
    pid, conn = zygote.shared().spawn((child.run, (assignment_id, sources, setup, limits, workdir)))
    return pid, conn, workdir


def _receive(pid, conn, workdir, deadline):
    """The child's decoded message, or {"error": why} if it sent nothing usable in time."""
    try:
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            return {"error": "timeout"}
        return json.loads(conn.recv_bytes(MAX_MESSAGE))
    except (EOFError, OSError):
        return {"error": "the run ended without results (crash or os._exit)"}
    except (ValueError, RecursionError):
        return {"error": "unreadable results"}
    finally:
        executor._kill(pid)
        conn.close()
        sandbox.release(pid)
        shutil.rmtree(workdir, ignore_errors=True)


def namespace(assignment_id, problem, message):
    """The checks' view of a run: the child's variables, with ``data`` and ``K`` from the problem itself."""
    values = message.get("values")
    if not isinstance(values, dict):
        raise transport.Malformed("values is not an object")
    ns = {}
    for name, encoded in values.items():
        if name == "params_history":
            ns[name] = transport.decode_list(encoded, transport.decode_parameters)
        elif name in ("log_likelihoods", "responsibilities_over_time"):
            ns[name] = transport.decode_list(encoded)
        elif name in ("n_iterations", "gamma", "mu", "sigma", "cov", "pi"):
            ns[name] = transport.decode(encoded)
    if isinstance(ns.get("n_iterations"), np.ndarray):
        if ns["n_iterations"].shape != () or not float(ns["n_iterations"]).is_integer():
            raise transport.Malformed("n_iterations is not an integer")
        ns["n_iterations"] = int(ns["n_iterations"])
    # the student's cell cannot change the problem: the checks read the grader's own copy
    ns.update(data=problem.data.copy(), K=problem.n_components)
    return ns


def _finite(value):
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


def finite_prefix(assignment_id, ns):
    """``ns`` cut back to the iterations that completed with finite results, as if the loop ended there.

    On other data an honest mistake elsewhere (a variance for sigma, a
    covariance divided by N) can drive the run to NaN or a singular matrix
    earlier than on the seed's data, or where the seed's never went; the
    iterations that ran before are still judged, each from the student's own
    inputs. A run without such iterations is returned as it is, and fails.
    """
    spread = child.SPREAD[assignment_id]
    offset = MODULES[assignment_id]._checks.spec.history_offset
    history, gammas, values = (ns.get(name) for name in ("params_history", "responsibilities_over_time",
                                                         "log_likelihoods"))
    if not all(isinstance(v, (list, tuple)) for v in (history, gammas, values)) or not isinstance(
            ns.get("n_iterations"), int):
        return ns
    # iteration i completed when its responsibilities, its M-step's parameters and its log-likelihood exist
    completed = min(ns["n_iterations"], len(history), len(gammas) - offset, len(values))
    final = (ns.get("mu"), ns.get(spread), ns.get("pi"))

    def after(i):
        return history[i + 1] if i + 1 < len(history) else final

    cut = next((i for i in range(completed) if not _finite_output((gammas[i + offset], after(i), values[i]))),
               completed)
    if cut == 0 or cut == ns["n_iterations"] or not _finite(gammas[:offset]):
        return ns
    mu, spread_value, pi = after(cut - 1)
    return dict(ns, n_iterations=cut, params_history=list(history[:cut]),
                responsibilities_over_time=list(gammas[:cut + offset]), log_likelihoods=list(values[:cut]),
                gamma=gammas[cut + offset - 1], mu=mu, pi=pi, **{spread: spread_value})


def _finite_output(output):
    gamma, params, value = output
    return _finite(gamma) and _finite(value) and isinstance(params, tuple) and all(_finite(p) for p in params)


def judge(assignment_id, problem, message, finite_only=False):
    """{grade_id: {"passed", "message", "diagnosis"}} of one run (``finite_only``: see :func:`finite_prefix`)."""
    try:
        ns = namespace(assignment_id, problem, message)
    except transport.Malformed as error:
        return {grade_id: {"passed": False, "message": f"unreadable results ({error})", "diagnosis": []}
                for grade_id in GRADES[assignment_id]}
    if finite_only:
        ns = finite_prefix(assignment_id, ns)
    checks = checks_on(assignment_id, problem)
    verdicts = {}
    for grade_id, name in GRADES[assignment_id].items():
        try:
            checks[name](ns, invariants_only=True)
            checks[name](ns)
        except CheckFailed as failure:
            verdicts[grade_id] = {"passed": False, "message": str(failure), "diagnosis": diagnosis_ids(str(failure))}
        except Exception as error:  # in a kernel any exception fails the test cell too
            verdicts[grade_id] = {"passed": False, "message": f"{type(error).__name__}: {error}", "diagnosis": []}
        else:
            verdicts[grade_id] = {"passed": True, "message": "", "diagnosis": []}
    return verdicts


def run_checks(assignment_id, notebook, limits=None, secret=""):
    """Verify one sanitized notebook: {"seed": verdicts, "hidden": verdicts, "errors": {...}}.

    Top-level and picklable arguments, so it runs in worker threads and on
    Dask workers alike; ``secret`` never reaches the sandboxed children, only
    the hidden problem's arrays do.
    """
    limits = limits or sandbox.Limits()
    sources = solution_cells(notebook)
    problems = {"seed": seed_setup(assignment_id), "hidden": hidden_setup(assignment_id, secret)}
    deadline = time.monotonic() + 2 * limits.cell_timeout + GRACE
    children = {run: _spawn(assignment_id, sources, setup, limits) for run, setup in problems.items()}
    result = {"errors": {}}
    for run, (pid, conn, workdir) in children.items():
        message = _receive(pid, conn, workdir, deadline)
        if not isinstance(message, dict):
            message = {"error": "unreadable results"}
        result["errors"][run] = str(message.get("error") or "")[:200]
        result[run] = judge(assignment_id, problems[run][0], message if "values" in message else {"values": {}},
                            finite_only=run == "hidden")
    return result


@dataclasses.dataclass
class VerifiedExecution(executor.Execution):
    """An execution plus the verification of the same notebook (None where the assignment has none)."""

    verification: dict = None


def execute_and_verify(notebook, files, limits, assignment_id, secret):
    """The worker job of ``grader autograde``: execute the notebook, then verify its solution cells."""
    execution = executor.execute(notebook, files, limits)
    verification = run_checks(assignment_id, notebook, limits, secret) if assignment_id in GRADES else None
    fields = {field.name: getattr(execution, field.name) for field in dataclasses.fields(execution)}
    return VerifiedExecution(**fields, verification=verification)


def _verdict(grade_id, verification):
    """(earned, note, diagnosis) of one grade cell from the two runs."""
    if verification is None:
        return False, "", ""
    seed, hidden = verification["seed"][grade_id], verification["hidden"][grade_id]
    failed = seed if not seed["passed"] else hidden
    note = "hard-coded" if seed["passed"] and not hidden["passed"] else ""
    return seed["passed"] and hidden["passed"], note, ";".join(failed["diagnosis"])


def edited_cells(gradebook, submitted, notebook_name, assignment_id):
    """grade_ids of the read-only cells (given code, tests) whose source or points differ from the release.

    nbgrader restores them silently before grading; the note says it happened.
    The release text of a test cell is the gradebook's source without its
    hidden-tests region.
    """
    import nbformat
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import ClearHiddenTests

    hidden_tests = ClearHiddenTests()
    edited = []
    for cell in submitted.cells:
        meta = cell.metadata.get("nbgrader", {})
        try:
            source = gradebook.find_source_cell(meta["grade_id"], notebook_name, assignment_id)
        except (KeyError, MissingEntry):
            continue
        if not source.locked:
            continue
        released = nbformat.from_dict({"cell_type": source.cell_type, "source": source.source, "metadata": {}})
        hidden_tests._remove_hidden_test_region(released)
        points = None
        if meta.get("grade"):
            try:
                points = gradebook.find_grade_cell(meta["grade_id"], notebook_name, assignment_id).max_score
            except MissingEntry:
                points = None
        try:
            changed_points = points is not None and float(meta.get("points", 0)) != float(points)
        except (TypeError, ValueError):
            changed_points = True
        if cell.source != released.source or changed_points:
            edited.append(meta["grade_id"])
    return edited


def record(db_url, autograded_dir, student_id, assignment_id, executions, submitted_dir=None):
    """After nbgrader scored the submission: EM grade cells get the verified scores; returns notes.

    ``executions`` maps notebook name to a :class:`VerifiedExecution` (or a
    plain Execution when the worker failed: nothing verified, nothing earned).
    Writes ``VERDICTS`` next to the autograded notebooks for the reports.
    With ``submitted_dir``, read-only cells edited in the submission are
    noted ``tampered`` too (every assignment).
    """
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    notes, verdicts = {}, {}
    if submitted_dir is not None:
        with Gradebook(db_url) as gradebook:
            for notebook_name in executions:
                path = submitted_dir / student_id / assignment_id / f"{notebook_name}.ipynb"
                edited = edited_cells(gradebook, nbformat.read(path, as_version=4), notebook_name, assignment_id)
                if edited:
                    notes[notebook_name] = f"tampered ({', '.join(edited)} edited)"
    if assignment_id not in GRADES:
        return notes
    with Gradebook(db_url) as gradebook:
        for notebook_name, execution in executions.items():
            verification = getattr(execution, "verification", None)
            try:
                submitted = gradebook.find_submission_notebook(notebook_name, assignment_id, student_id)
            except MissingEntry:
                continue
            flags = set()
            for grade in submitted.grades:
                if grade.name not in GRADES[assignment_id]:
                    continue
                kernel_passed = grade.auto_score is not None and grade.auto_score >= grade.max_score
                earned, note, diagnosis = _verdict(grade.name, verification)
                if kernel_passed and verification is not None and not verification["seed"][grade.name]["passed"]:
                    note = "tampered"
                flags.add(note)
                grade.auto_score = grade.max_score if earned else 0.0
                grade.needs_manual_grade = False
                verdicts.setdefault(notebook_name, {})[grade.name] = {"diagnosis": diagnosis, "note": note}
            note = "tampered" if "tampered" in flags else "hard-coded" if "hard-coded" in flags else ""
            if note and not notes.get(notebook_name, "").startswith(note):
                notes[notebook_name] = "; ".join(filter(None, (notes.get(notebook_name), note)))
        gradebook.db.commit()
    path = autograded_dir / student_id / assignment_id / VERDICTS
    if path.parent.is_dir():
        path.write_text(json.dumps(verdicts, indent=1, sort_keys=True))
    return notes


def read_verdicts(autograded_dir, student_id, assignment_id):
    """{notebook: {grade_id: {"diagnosis", "note"}}} written by :func:`record`, or {}."""
    try:
        return json.loads((autograded_dir / student_id / assignment_id / VERDICTS).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
