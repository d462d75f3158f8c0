"""The sandbox around each notebook run, exercised through the real executor (zygote, fork, namespaces).

Each test runs a small notebook whose cells try something a submission
should not be able to do and print what happened; a protection the platform
cannot apply is skipped with the reason, never assumed.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from grader.course import Course
from grader.runtime import executor, sandbox
from grader.runtime.shell import LIMIT_MARKER

LIMITS = sandbox.Limits(cell_timeout=5, notebook_timeout=60, memory_bytes=2 * 2**30, output_bytes=2**16)
PROTECTIONS = sandbox.capabilities()


def requires(*protections):
    missing = [p for p in protections if not PROTECTIONS.get(p)]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"sandbox cannot apply {', '.join(missing)} on this machine (needs root and Linux namespaces)",
    )


@pytest.fixture
def outside_tmp():
    """A folder outside the temp dir (which the sandbox replaces wholesale), to test hiding on its own."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp" if os.access("/var/tmp", os.W_OK) else Path.home()))
    yield folder
    shutil.rmtree(folder)


def run(*sources, limits=LIMITS, files=None):
    notebook = {
        "cells": [
            {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
            for source in sources
        ]
    }
    return executor.execute(notebook, files or {}, limits)


def text(execution, index):
    return "".join(o.get("text", "") for o in execution.notebook["cells"][index]["outputs"])


def errors(execution, index):
    return [o["ename"] for o in execution.notebook["cells"][index]["outputs"] if o["output_type"] == "error"]


def test_each_run_reports_the_protections_it_applied():
    execution = run("print('hello')")
    assert text(execution, 0) == "hello\n"
    assert execution.note == ""
    assert execution.sandbox == PROTECTIONS


@requires("pid-namespace")
def test_student_code_sees_no_other_process():
    execution = run("import os\nprint(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert text(execution, 0) == "1 [1]\n"


def unique_sleep():
    """A sleep duration no other process on the machine uses, to find the ones a run started."""
    return f"{time.time_ns() % 10**6 + 1000}.5"


def wait_for_no_sleep(duration, seconds=10):
    """Wait until no ``sleep <duration>`` process is left on the machine; return the pids still there."""
    deadline = time.monotonic() + seconds
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if handle.read().split(b"\0")[:2] == [b"sleep", duration.encode()]:
                        found.append(pid)
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@requires("pid-namespace")
def test_background_processes_end_with_the_run():
    duration = unique_sleep()
    execution = run(
        f"import subprocess\nsubprocess.Popen(['sleep', '{duration}'], start_new_session=True)\nprint('started')"
    )
    assert text(execution, 0) == "started\n"
    assert wait_for_no_sleep(duration) == []


@requires("mount-namespace", "hidden-paths")
def test_hidden_files_and_folders_read_as_empty(outside_tmp):
    secret_file = outside_tmp / "gradebook.db"
    secret_file.write_text("answers")
    secret_folder = outside_tmp / "solutions"
    secret_folder.mkdir()
    (secret_folder / "key.txt").write_text("answers")
    limits = LIMITS.hiding(secret_file, secret_folder)
    execution = run(
        f"print(repr(open({str(secret_file)!r}).read()))", f"print(os.listdir({str(secret_folder)!r}))", limits=limits
    )
    assert text(execution, 0) == "''\n"
    assert errors(execution, 1) == ["NameError"]  # os was never imported: the cell itself ran
    execution = run("import os", f"print(os.listdir({str(secret_folder)!r}))", limits=limits)
    assert text(execution, 1) == "[]\n"


@requires("mount-namespace", "read-only-filesystem", "private-tmp")
def test_only_the_private_scratch_space_is_writable(outside_tmp):
    outside = outside_tmp / "outside.txt"
    execution = run(
        "open('mine.txt', 'w').write('ok'); print(open('mine.txt').read())",
        f"open({str(outside)!r}, 'w')",
        "open('/usr/escape.txt', 'w')",
        "import numpy; numpy.save('array.npy', numpy.ones(3)); print(numpy.load('array.npy').sum())",
        files={"data/points.csv": b"1,2\n"},
    )
    assert text(execution, 0) == "ok\n"
    assert errors(execution, 1) and errors(execution, 2)
    assert text(execution, 3) == "3.0\n"
    assert not outside.exists() and not os.path.exists("/usr/escape.txt")


@requires("capabilities-dropped", "hidden-paths")
def test_root_without_capabilities_cannot_undo_the_mounts(outside_tmp):
    secret = outside_tmp / "solutions"
    secret.mkdir()
    (secret / "key.txt").write_text("answers")
    execution = run(
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"print(libc.umount2({str(secret).encode()!r}, 2), ctypes.get_errno())\n"
        "print(libc.mount(None, b'/', None, 32 | 4096, None), ctypes.get_errno())\n"
        f"print(os.listdir({str(secret)!r}))",
        limits=LIMITS.hiding(secret),
    )
    eperm = 1
    assert text(execution, 0) == f"-1 {eperm}\n-1 {eperm}\n[]\n"


@requires("network-namespace")
def test_no_network_even_to_localhost():
    execution = run(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n"
        "except OSError as error:\n    print(error.errno)\n"
        "print(sorted(name for _, name in socket.if_nameindex()))"
    )
    unreachable = 101
    assert text(execution, 0) == f"{unreachable}\n['lo']\n"


def test_cell_ignoring_the_alarm_is_killed_and_the_rest_still_runs():
    execution = run(
        "x = 1", "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass", "print(x + 1)"
    )
    assert execution.note == "timeout"
    assert errors(execution, 1) == ["CellTimeout"]
    assert text(execution, 2) == "2\n"


def test_notebook_time_limit_ends_the_run_and_marks_what_never_ran():
    limits = sandbox.Limits(cell_timeout=5, notebook_timeout=6, output_bytes=2**16)
    execution = run("import time\ntime.sleep(4)", "time.sleep(4)", "print('late')", limits=limits)
    assert execution.note == "timeout"
    assert errors(execution, 2) == ["NotExecuted"]


def test_memory_growth_becomes_a_memory_error_for_this_run_only():
    limits = sandbox.Limits(cell_timeout=60, memory_bytes=2**30)  # page faults are slow on a loaded machine
    execution = run(
        "chunks = []\nwhile True:\n    chunks.append(bytearray(2**26))", "del chunks\nprint('alive')", limits=limits
    )
    assert execution.note == "memory"
    assert errors(execution, 0) == ["MemoryError"]
    assert text(execution, 1) == "alive\n"
    assert text(run("print('next run')"), 0) == "next run\n"


def test_crash_in_c_is_kernel_died_and_keeps_earlier_outputs():
    execution = run("print('before')", "import ctypes\nctypes.string_at(0)", "print('after')")
    assert execution.note == "kernel-died"
    assert text(execution, 0) == "before\n"
    assert errors(execution, 1) == errors(execution, 2) == ["NotExecuted"]


@pytest.mark.parametrize(
    "flood",
    [
        "for _ in range(10**4):\n    print('x' * 100)",
        "from IPython.display import display, HTML\nfor _ in range(10**4):\n    display(HTML('x' * 100))",
    ],
)
def test_output_flood_is_capped_with_a_marker(flood):
    # 10**4 displays outlast a 5 s cell on a loaded machine: the cap, not the clock, must end this one
    execution = run(flood, "print('after')", limits=sandbox.Limits(cell_timeout=60, output_bytes=LIMITS.output_bytes))
    assert execution.note == "output-limit"
    assert LIMIT_MARKER in text(execution, 0)
    outputs = execution.notebook["cells"][0]["outputs"]
    assert sum(len(str(o)) for o in outputs) < 2 * LIMITS.output_bytes


def test_writes_to_the_real_stdout_go_nowhere():
    execution = run(
        "import os, sys\nfor _ in range(10**4):\n    os.write(1, b'y' * 100)\n"
        "    sys.__stdout__.write('z' * 100)\nprint('done')"
    )
    assert execution.note == ""
    assert text(execution, 0) == "done\n"


def test_huge_error_message_is_clipped():
    execution = run("raise ValueError('e' * 10**7)")
    error = execution.notebook["cells"][0]["outputs"][0]
    assert error["ename"] == "ValueError"
    assert len(error["evalue"]) < 10**5


def test_forged_early_done_message_cannot_skip_the_remaining_cells():
    forge = (
        "import os\nfrom multiprocessing.connection import Connection\n"
        "for fd in map(int, os.listdir('/proc/self/fd')):\n"
        "    if fd > 2:\n"
        "        try:\n"
        "            Connection(fd, readable=False).send_bytes(b'{\"done\": true}')\n"
        "        except OSError:\n"
        "            pass"
    )
    execution = run(forge, "assert False, 'a test the student would fail'")
    assert execution.note == "tampered"
    assert errors(execution, 1) == ["NotExecuted"]


@requires("process-limit", "pid-namespace")
def test_process_count_is_capped_and_nothing_outlives_the_run():
    limits = sandbox.Limits(cell_timeout=30, notebook_timeout=60, max_processes=20)
    duration = unique_sleep()
    execution = run(
        "import subprocess\nstarted = 0\nfor _ in range(60):\n    try:\n"
        f"        subprocess.Popen(['sleep', '{duration}'])\n        started += 1\n"
        "    except OSError:\n        pass\nprint(started)",
        limits=limits,
    )
    assert 0 < int(text(execution, 0)) < limits.max_processes
    assert wait_for_no_sleep(duration) == []


def test_grader_environment_is_not_inherited(monkeypatch):
    from grader.runtime import zygote

    monkeypatch.setenv("GRADER_TEST_SECRET", "token")
    zygote.shared().close()  # the next run starts a zygote that inherits the variable, as a real grader would
    execution = run("import os\nprint(os.environ.get('GRADER_TEST_SECRET'), os.environ['HOME'] == os.getcwd())")
    assert text(execution, 0) == "None True\n"


@requires("private-tmp")
def test_filling_the_disk_stops_at_the_scratch_size():
    limits = sandbox.Limits(cell_timeout=30, scratch_bytes=8 * 2**20, file_bytes=4 * 2**20)
    execution = run(
        "import errno\nwritten = 0\ntry:\n    for i in range(100):\n"
        "        with open(f'block{i}', 'wb') as handle:\n            handle.write(b'x' * 2**20)\n"
        "        written += 1\nexcept OSError as error:\n    print(written, errno.errorcode[error.errno])",
        limits=limits,
    )
    written, error = text(execution, 0).split()
    assert int(written) <= 8 and error == "ENOSPC"


@requires("mount-namespace")
def test_hiding_the_folder_python_lives_in_is_refused_and_reported():
    import grader

    package = os.path.dirname(grader.__file__)
    execution = run("import grader.checks.lower_bound\nprint('imported')", limits=LIMITS.hiding(package))
    assert text(execution, 0) == "imported\n"
    assert execution.sandbox["hidden-paths"] is False


def test_value_of_the_last_expression_is_an_execute_result():
    execution = run("6 * 7")
    outputs = execution.notebook["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["execute_result"]
    assert outputs[0]["data"]["text/plain"] == "42"


@requires("private-dev")
def test_only_harmless_devices_exist():
    execution = run(
        "import os\nprint(sorted(os.listdir('/dev')))\nopen('/dev/null', 'w').write('x')\n"
        "print(len(open('/dev/urandom', 'rb').read(8)))\nopen('/dev/shm/scratch', 'w').write('x')\n"
        "open('/dev/sda', 'w')"
    )
    assert text(execution, 0) == f"{sorted([*sandbox.DEVICES, 'fd', 'shm', 'stdin', 'stdout', 'stderr'])}\n8\n"
    assert errors(execution, 0) == ["OSError"]


@requires("no-unix-sockets", "mount-namespace")
def test_unix_socket_of_a_local_service_cannot_be_reached(outside_tmp):
    import socket

    path = str(outside_tmp / "service.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen()
        execution = run(
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})",
            "import os\nr, w = os.pipe()\nprint(os.write(w, b'pipes still work'))",
        )
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert errors(execution, 0) == ["PermissionError"]
    assert text(execution, 1) == "16\n"


def test_stale_outputs_in_the_input_never_count_as_run():
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": source,
                "metadata": {},
                "execution_count": 7,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "forged\n"}],
            }
            for source in ("import os\nos._exit(0)", "print('never')")
        ]
    }
    execution = executor.execute(notebook, {}, LIMITS)
    assert execution.note == "kernel-died"
    assert [errors(execution, i) for i in (0, 1)] == [["NotExecuted"], ["NotExecuted"]]


@pytest.mark.parametrize("assignment_id", Course().assignments)
def test_every_solution_runs_clean_under_the_default_limits(assignment_id):
    folder = Course().solutions / assignment_id
    files = {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts
    }
    for path in folder.glob("*.ipynb"):
        execution = executor.execute(nbformat.read(path, as_version=4), files, sandbox.Limits())
        assert execution.note == ""
        complaints = [
            o
            for c in execution.notebook["cells"]
            if c["cell_type"] == "code"
            for o in c["outputs"]
            if o["output_type"] == "error" or o.get("name") == "stderr"
        ]
        assert complaints == []
