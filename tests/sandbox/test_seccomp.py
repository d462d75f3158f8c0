"""The seccomp filter against Unix sockets: libseccomp's and the hand-built fallback give the same verdicts.

Every probe runs in its own forked child that installs one filter and then
makes one system call, so a probe that kills its process (another ABI's
system call) costs nothing else. The verdict is "ok", the errno's name, or
the signal that killed the child.
"""

import ctypes
import errno
import json
import os
import platform
import signal
import socket

import pytest

from grader.runtime.sandbox import seccomp

PR_SET_NO_NEW_PRIVS = 1
NR = {  # machine -> system call numbers the probes make directly
    "x86_64": {"socket": 41, "getpid": 39, "io_uring_setup": 425},
    "aarch64": {"socket": 198, "getpid": 172, "io_uring_setup": 425},
}


def _kernel_has_seccomp():
    with open("/proc/self/status") as status:
        return any(line.startswith("Seccomp:") for line in status)


pytestmark = [
    pytest.mark.skipif(platform.system() != "Linux", reason="seccomp is Linux only"),
    pytest.mark.skipif(
        platform.system() == "Linux" and not _kernel_has_seccomp(),
        reason="this kernel has no seccomp (no Seccomp: line in /proc/self/status)",
    ),
    pytest.mark.skipif(
        platform.machine() not in seccomp.SECCOMP_ARCHES,
        reason=f"the hand-built filter knows x86_64 and aarch64 only, not {platform.machine()}",
    ),
]
requires_libseccomp = pytest.mark.skipif(
    seccomp.pyseccomp is None, reason="pyseccomp or the system's libseccomp.so.2 is not installed"
)


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _raw(libc, number, *args):
    """A system call by number with 64-bit arguments (so the upper halves reach the kernel); "ok" or errno."""
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
    if result == -1:
        return errno.errorcode[ctypes.get_errno()]
    if number == NR[platform.machine()]["socket"]:
        os.close(result)
    return "ok"


def _python(call):
    try:
        made = call()
    except OSError as error:
        return errno.errorcode[error.errno]
    for each in made if isinstance(made, tuple) else (made,):
        each.close()
    return "ok"


def _probes():
    nr = NR[platform.machine()]
    return {
        "socket(AF_UNIX, SOCK_STREAM)": lambda libc: _python(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
        "socket(AF_UNIX, SOCK_DGRAM)": lambda libc: _python(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)),
        # the kernel reads the family as an int: upper bits set must not slip past the filter
        "socket(AF_UNIX | 1 << 32) raw": lambda libc: _raw(libc, nr["socket"], 1 | 1 << 32, socket.SOCK_STREAM, 0),
        "socket(AF_INET, SOCK_STREAM)": lambda libc: _python(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        "socket(AF_INET6, SOCK_DGRAM)": lambda libc: _python(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
        "socketpair(AF_UNIX)": lambda libc: _python(lambda: socket.socketpair(socket.AF_UNIX)),
        "io_uring_setup": lambda libc: _raw(libc, nr["io_uring_setup"], 1, 0),
        "getpid": lambda libc: _raw(libc, nr["getpid"]),
        "open and read": lambda libc: _python(lambda: open("/proc/self/status")),
        # an x32 system call (x86_64 only): the filter does not know its numbers, so it must not pass
        **(
            {"x32 getpid": lambda libc: _raw(libc, seccomp.X32_SYSCALL_BIT | nr["getpid"])}
            if platform.machine() == "x86_64"
            else {}
        ),
    }


def _in_child(action):
    """Run ``action()`` (returning a JSON-able value) in a forked child; its value, or "killed by SIG..."."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.write(write, json.dumps(action()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return json.loads(report) if report else "no report"


def _verdicts(install):
    """{probe: verdict} with the filter ``install(libc)`` puts in place (None: no filter)."""

    def probe(name):
        def action():
            libc = _libc()
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            if install is not None and not install(libc):
                return "filter not installed"
            return _probes()[name](libc)

        return action

    return {name: _in_child(probe(name)) for name in _probes()}


def test_the_hand_built_filter_refuses_unix_sockets_and_io_uring():
    verdicts = _verdicts(seccomp.install_hand_built)
    assert verdicts["socket(AF_UNIX, SOCK_STREAM)"] == "EACCES"
    assert verdicts["socket(AF_UNIX, SOCK_DGRAM)"] == "EACCES"
    assert verdicts["socket(AF_UNIX | 1 << 32) raw"] == "EACCES"
    assert verdicts["io_uring_setup"] == "EACCES"
    for allowed in ("socket(AF_INET, SOCK_STREAM)", "socketpair(AF_UNIX)", "getpid", "open and read"):
        assert verdicts[allowed] == "ok", allowed
    if "x32 getpid" in verdicts:
        assert verdicts["x32 getpid"] == "killed by SIGSYS"


@requires_libseccomp
def test_libseccomp_and_the_hand_built_filter_give_the_same_verdicts():
    unfiltered = _verdicts(None)
    assert unfiltered["socket(AF_UNIX, SOCK_STREAM)"] == "ok"  # so the refusals below are the filter's
    assert _verdicts(lambda libc: seccomp.install_libseccomp()) == _verdicts(seccomp.install_hand_built)


@requires_libseccomp
def test_libseccomp_builds_the_filter_when_it_is_installed():
    assert _in_child(lambda: seccomp.install(_libc())) == "libseccomp"


def test_the_hand_built_filter_is_the_fallback_without_pyseccomp(monkeypatch):
    monkeypatch.setattr(seccomp, "pyseccomp", None)
    assert _in_child(lambda: seccomp.install(_libc())) == "hand-built"
    assert _in_child(lambda: seccomp.install_libseccomp()) is False
