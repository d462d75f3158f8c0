"""Limits for running student code: time, memory, output, files, network, processes, privileges.

:func:`enter` is called first thing in the child process that runs a
submission. As root on Linux it puts the child in its own namespaces:

* mount: every mount read-only, the ``hidden`` paths (solutions, gradebook,
  other students' work) covered by empty read-only mounts, and a fresh
  size-limited tmpfs as the only writable place (the working directory);
* network: only a loopback interface that is down, so no connection works;
* PID: the student's code runs as PID 1 of a new namespace with a fresh
  ``/proc``, so it can neither see nor signal the grader, and every process
  it starts dies with it;
* IPC: no shared memory or semaphores with anything else;
* a ``pids`` cgroup caps how many processes and threads it can have (a fork
  bomb fails instead of exhausting the machine); :func:`release` kills
  whatever is left in it and removes it;

then drops every capability, so it cannot unmount or remount any of this,
and installs a seccomp filter against Unix sockets (:mod:`.seccomp`).
It is best effort where the platform says no (not root, no namespaces) and
says so in :func:`capabilities`, so the README and tests can tell what is
defended here.

One module per concern: :mod:`.limits` (the :class:`Limits`), :mod:`.mounts`
(the mount namespace's file system), :mod:`.seccomp`, :mod:`.cgroups` (the
pids cgroup, :func:`release`), :mod:`.process` (PID 1, capabilities,
privileges, environment, :func:`die_with_parent`); this module puts them
together in :func:`enter`.
"""

import json
import os
import resource
import tempfile

from .cgroups import PIDS_CGROUP, limit_processes, release
from .libc import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID
from .libc import libc as _libc
from .libc import unshare as _unshare
from .limits import Limits
from .mounts import DEVICES, private_filesystem
from .process import (
    can_drop_privileges,
    die_with_parent,
    drop_capabilities,
    drop_privileges,
    pid_namespace_init,
    scrub_environment,
)
from .seccomp import forbid_unix_sockets

__all__ = [
    "DEVICES",
    "PIDS_CGROUP",
    "PROTECTIONS",
    "Limits",
    "can_drop_privileges",
    "capabilities",
    "die_with_parent",
    "enter",
    "release",
]

#: Protections :func:`enter` can apply, as reported by :func:`capabilities`.
PROTECTIONS = (
    "mount-namespace",
    "read-only-filesystem",
    "hidden-paths",
    "private-tmp",
    "private-dev",
    "network-namespace",
    "pid-namespace",
    "ipc-namespace",
    "process-limit",
    "capabilities-dropped",
    "no-unix-sockets",
    "unprivileged-user",
)


def enter(limits, workdir, files, keep_fds=()):
    """Confine the current (child) process; call before running any student code.

    Writes ``files`` ({relative path: bytes}) into ``workdir`` and makes it the
    current directory. File descriptors other than ``keep_fds`` are closed
    and 0-2 lead to /dev/null. Returns {protection: bool} for :data:`PROTECTIONS`.
    """
    if os.getpid() != os.getsid(0):
        os.setsid()
    applied = dict.fromkeys(PROTECTIONS, False)
    if os.geteuid() == 0:
        libc = _libc()
        applied["network-namespace"] = _unshare(libc, CLONE_NEWNET)
        applied["ipc-namespace"] = _unshare(libc, CLONE_NEWIPC)
        applied["process-limit"] = limit_processes(limits)  # before forking, so every descendant is inside
        if _unshare(libc, CLONE_NEWNS):
            applied["pid-namespace"] = _unshare(libc, CLONE_NEWPID)
            if applied["pid-namespace"]:
                pid_namespace_init()
            private_filesystem(libc, limits, workdir, applied)
    os.makedirs(workdir, exist_ok=True)
    for relative, content in files.items():
        path = os.path.join(workdir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    os.chdir(workdir)
    scrub_environment()
    os.environ.update(HOME=workdir, MPLCONFIGDIR=workdir, TMPDIR=workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = sorted({0, 1, 2, *keep_fds})
    for low, high in zip(keep, [*keep[1:], 2**16]):
        os.closerange(low + 1, high)
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    cpu = int(limits.notebook_timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() == 0 and applied["mount-namespace"]:
        libc = _libc()
        applied["capabilities-dropped"] = drop_capabilities(libc)
        applied["no-unix-sockets"] = forbid_unix_sockets(libc)  # needs no_new_privs, set just above
    else:
        applied["unprivileged-user"] = drop_privileges(workdir) or os.geteuid() != 0
    return applied


_capabilities = None


def capabilities():
    """{protection: bool} that :func:`enter` achieves on this machine, measured once in a throwaway child."""
    global _capabilities
    if _capabilities is None:
        read, write = os.pipe()
        workdir = tempfile.mkdtemp(prefix="grader-probe-")
        pid = os.fork()
        if pid == 0:
            try:
                applied = enter(Limits(), workdir, {}, keep_fds=(write,))
                os.write(write, json.dumps(applied).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            report = pipe.read()
        os.waitpid(pid, 0)
        release(pid)
        os.rmdir(workdir)
        _capabilities = json.loads(report) if report else dict.fromkeys(PROTECTIONS, False)
    return dict(_capabilities)
