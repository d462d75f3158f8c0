"""Limits for running student code: time, memory, output, files, network, privileges.

:func:`enter` is called first thing in the child process that runs a
submission. It is best effort where the platform says no (an unprivileged
user cannot drop to ``nobody`` or leave the network namespace), and says so
in :func:`capabilities` so the README and tests can tell what is defended.
"""

import ctypes
import os
import pwd
import resource
import stat
import sys
from dataclasses import asdict, dataclass

CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; defaults are far above what a correct solution needs."""

    cell_timeout: float = 120.0
    notebook_timeout: float = 300.0
    memory_bytes: int = 4 * 2**30
    output_bytes: int = 2 * 2**20
    file_bytes: int = 64 * 2**20

    def to_dict(self):
        return asdict(self)


def _unshare_network():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(CLONE_NEWNET) == 0


def _world_readable(path):
    """Whether an unprivileged user can reach ``path`` (every ancestor searchable, the path readable)."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for depth in range(1, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:depth]) or os.sep).st_mode
        if not mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def can_drop_privileges():
    """Root, and Python plus this package are readable by ``nobody`` (not so under /root/.pyenv)."""
    import grader

    return os.geteuid() == 0 and all(
        _world_readable(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(grader.__file__)))


def _drop_privileges(workdir):
    if not can_drop_privileges():
        return False
    nobody = pwd.getpwnam("nobody")
    os.chown(workdir, nobody.pw_uid, nobody.pw_gid)
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    return True


def enter(limits, workdir, files):
    """Confine the current (child) process; call before running any student code."""
    os.setsid() if os.getpid() != os.getsid(0) else None
    for relative, content in files.items():
        path = os.path.join(workdir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    os.chdir(workdir)
    os.environ.update(HOME=workdir, MPLCONFIGDIR=workdir, TMPDIR=workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if os.geteuid() == 0:
        _unshare_network()
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    cpu = int(limits.notebook_timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _drop_privileges(workdir)
