"""A ``pids`` cgroup (v1) per run: a fork bomb fails instead of exhausting the machine."""

import contextlib
import os
import signal
import time

PIDS_CGROUP = "/sys/fs/cgroup/pids"


def _own_cgroup(controller):
    """This process's cgroup (v1) for ``controller``, relative to the hierarchy's root, or None."""
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return path
    return None


def _process_cgroup(pid):
    """The pids cgroup of the run whose first process is ``pid`` (nested in the current one)."""
    return os.path.join(PIDS_CGROUP, (_own_cgroup("pids") or "/").lstrip("/"), f"grader-sandbox-{pid}")


def limit_processes(limits):
    """Move this process into a new pids cgroup capped at ``limits.max_processes``; True if done."""
    path = _process_cgroup(os.getpid())
    try:
        os.makedirs(path, exist_ok=True)
        for name, value in (("pids.max", limits.max_processes), ("cgroup.procs", os.getpid())):
            with open(os.path.join(path, name), "w") as handle:
                handle.write(str(value))
    except OSError:
        return False
    return True


def release(pid):
    """After a run whose first process was ``pid``: kill what is left of it and remove its cgroup.

    Also removes the empty cgroups of runs whose first process is gone: a
    grader killed mid-run leaves its run's cgroup behind.
    """
    _remove_stale_cgroups(os.path.dirname(_process_cgroup(pid)))
    path = _process_cgroup(pid)
    for _ in range(100):
        try:
            with open(os.path.join(path, "cgroup.procs")) as handle:
                left = [int(line) for line in handle if line.strip()]
        except OSError:
            return  # never created (no cgroups here) or already removed
        for process in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)  # busy until the killed processes have exited


def _remove_stale_cgroups(parent):
    try:
        names = [name for name in os.listdir(parent) if name.startswith("grader-sandbox-")]
    except OSError:
        return
    for name in names:
        try:
            os.kill(int(name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):  # still has processes, or removed by another grader meanwhile
                os.rmdir(os.path.join(parent, name))
        except (ValueError, PermissionError):
            pass
