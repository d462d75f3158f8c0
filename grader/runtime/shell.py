"""Run a notebook's code cells in a fresh IPython shell, recording nbformat outputs.

This is what a Jupyter kernel does for nbclient, minus the messaging: the
same IPython machinery (input transformers, magics, display formatters,
``%matplotlib inline``) runs the cells, and outputs are recorded in nbformat
shape so nbgrader can score them exactly as it scores a kernel's.
"""

import signal
import sys

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell


class CellTimeout(BaseException):
    """Raised in student code when one cell exceeds its time limit."""


#: Characters of an error message or traceback kept: errors are recorded even past the output limit.
ERROR_CHARS = 20_000

LIMIT_MARKER = "[output limit reached: further output discarded]"


class _Recorder:
    """Collects the outputs of the current cell, capping their total size over the whole notebook."""

    def __init__(self, max_bytes):
        self.outputs = []
        self.max_bytes = max_bytes
        self.used = 0
        self.truncated = False

    def _charge(self, size):
        """Count ``size`` bytes; False (and a marker in the current cell, once) when over the limit."""
        self.used += size
        if self.used > self.max_bytes:
            if not self.truncated:
                self.outputs.append({"output_type": "stream", "name": "stderr", "text": f"\n{LIMIT_MARKER}\n"})
            self.truncated = True
            return False
        return True

    def stream(self, name, text):
        if self.truncated or not text:
            return
        if not self._charge(len(text.encode("utf-8", "replace"))):
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, output):
        if self.truncated or not self._charge(sum(len(str(v)) for v in output.get("data", {}).values())):
            return
        self.outputs.append(output)


class _Stream:
    """A file-like sys.stdout/sys.stderr that records into the current cell."""

    def __init__(self, recorder, name):
        self.recorder, self.name = recorder, name

    def write(self, text):
        self.recorder.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    encoding = "utf-8"


class _Publisher(DisplayPublisher):
    def __init__(self, recorder, **kwargs):
        super().__init__(**kwargs)
        self.recorder = recorder

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.recorder.rich({"output_type": "display_data", "data": data, "metadata": metadata or {}})

    def clear_output(self, wait=False):
        self.recorder.outputs.clear()


class _DisplayHook(DisplayHook):
    def __init__(self, recorder, **kwargs):
        super().__init__(**kwargs)
        self.recorder = recorder

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.recorder.rich(
            {
                "output_type": "execute_result",
                "data": format_dict,
                "metadata": md_dict or {},
                "execution_count": self.prompt_count,
            }
        )


class RecordingShell(InteractiveShell):
    """An InteractiveShell whose tracebacks become nbformat error outputs."""

    recorder: "_Recorder"

    def enable_gui(self, gui=None):
        # inline figures need no GUI event loop, as in ipykernel
        pass

    def _showtraceback(self, etype, evalue, stb):
        self.recorder.outputs.append(
            {
                "output_type": "error",
                "ename": _clip(etype.__name__),
                "evalue": _clip(str(evalue)),
                "traceback": [_clip("\n".join(stb))],
            }
        )


def _clip(text):
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + "\n[... truncated]"


def _timeout_error():
    return {"output_type": "error", "ename": "CellTimeout", "evalue": "cell execution timed out", "traceback": []}


def _on_alarm(signum, frame):
    raise CellTimeout("cell execution timed out")


def run_cells(cells, cell_timeout, max_output_bytes, on_cell=None, on_start=None, skip=()):
    """Execute code ``cells`` (nbformat dicts) in order, like a kernel with allow_errors.

    Each cell gets ``outputs`` and ``execution_count``; ``on_start(index)`` and
    ``on_cell(index, cell)`` are called around each so the caller can watch
    progress. A cell that runs longer than ``cell_timeout`` seconds is
    interrupted with an error output and execution continues, as nbgrader does
    after a kernel interrupt. Cells whose index is in ``skip`` are not run and
    get that same error: the caller's way to get past a cell that could not be
    interrupted.
    """
    from traitlets.config import Config

    recorder = _Recorder(max_output_bytes)
    # no history database or saving thread in a throwaway process
    shell = RecordingShell.instance(
        colors="NoColor",
        config=Config(
            {
                "HistoryManager": {"enabled": False},
                # Jupyter's "tight" crops each figure by drawing it twice; a grading run draws it once, uncropped
                "InlineBackend": {"print_figure_kwargs": {"bbox_inches": None}},
            }
        ),
    )
    shell.recorder = recorder
    shell.display_pub = _Publisher(recorder, shell=shell)
    shell.displayhook = _DisplayHook(recorder, shell=shell, cache_size=1000)
    assert shell.display_trap is not None
    shell.display_trap.hook = shell.displayhook  # the trap installs its hook as sys.displayhook during each cell
    # Context tracebacks re-parse every frame's source (seconds per error); feedback shows only the message
    shell.InteractiveTB.set_mode("Plain")
    shell.enable_matplotlib("inline")
    # pyplot redraws every open figure after each cell for GUI windows; inline figures are drawn when shown
    import matplotlib.pyplot

    matplotlib.pyplot.uninstall_repl_displayhook()
    sys.stdout, sys.stderr = _Stream(recorder, "stdout"), _Stream(recorder, "stderr")
    signal.signal(signal.SIGALRM, _on_alarm)
    count = 0
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        recorder.outputs = []
        count += 1
        if on_start:
            on_start(index)
        if index in skip:
            cell["outputs"] = [_timeout_error()]
            cell["execution_count"] = count
            if on_cell:
                on_cell(index, cell)
            continue
        signal.setitimer(signal.ITIMER_REAL, cell_timeout)
        try:
            shell.run_cell(cell["source"], store_history=True)
        except CellTimeout:
            # raised outside user code (e.g. while flushing figures); still the cell's fault
            recorder.outputs.append(_timeout_error())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        cell["outputs"] = recorder.outputs
        cell["execution_count"] = count
        if on_cell:
            on_cell(index, cell)
    return cells
