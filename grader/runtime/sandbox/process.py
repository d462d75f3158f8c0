"""The run's process: PID 1 of its namespace, no capabilities or no privileges, a scrubbed environment."""

import ctypes
import os
import pwd
import signal
import stat
import sys

from .libc import libc as _libc

PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def die_with_parent():
    """Ask the kernel to kill this process when its parent dies (Linux; a no-op elsewhere).

    For helper processes of the grader (the feedback renderers): a grader
    killed with SIGKILL must not leave them running.
    """
    if sys.platform != "linux":
        return
    parent = os.getppid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def pid_namespace_init():
    """Fork; the parent waits and exits with the child, the child (PID 1 of the new namespace) returns.

    The parent is the process the grader knows and kills; the child asks to
    be killed when it dies, and the kernel ends every process of a PID
    namespace when its first process ends.
    """
    child = os.fork()
    if child == 0:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return
    os.closerange(0, 2**16)
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def drop_capabilities(libc):
    """Give up every capability (root stays uid 0 but cannot mount, ptrace others or bypass permissions).

    Also sets no_new_privs, which the seccomp filter installed after it needs.
    """
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except OSError:
        last = 63
    for capability in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    return libc.capset(header, data) == 0


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
        _world_readable(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(grader.__file__))
    )


def drop_privileges(workdir):
    """Become ``nobody`` (owning ``workdir``) where :func:`can_drop_privileges`; True if done."""
    if not can_drop_privileges():
        return False
    nobody = pwd.getpwnam("nobody")
    os.chown(workdir, nobody.pw_uid, nobody.pw_gid)
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    return True


#: Environment variables student code keeps; the rest (tokens, credentials, paths of the grader) is removed.
ENVIRONMENT_KEPT = {
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "LD_LIBRARY_PATH",
    "MPLBACKEND",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
}


def scrub_environment():
    for name in list(os.environ):
        if name not in ENVIRONMENT_KEPT and not name.startswith("LC_"):
            del os.environ[name]
