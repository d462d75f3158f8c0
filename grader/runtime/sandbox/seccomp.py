"""A seccomp filter: no Unix sockets, no io_uring.

The network namespace stops TCP, but a Unix socket file anywhere on the
(read-only) file system still accepts root's connections: a database
server's, say. io_uring could create sockets behind the filter's back.

The policy, for the native architecture: ``socket(AF_UNIX, ...)`` (only the
low 32 bits of the family count, as for the kernel, which takes an ``int``)
and ``io_uring_setup`` fail with EACCES; everything else is allowed
(``socketpair(AF_UNIX)`` too: its sockets are connected to each other only).
A system call of another ABI (i386 through ``int 0x80``, x32) kills the
process: the filter only knows the native numbers, so another ABI's
``socket`` would pass unseen.

The filter is built by libseccomp (through ``pyseccomp``) where it is
installed, and by hand (:func:`install_hand_built`, x86_64 and aarch64
only) where it is not; tests/sandbox/test_seccomp.py checks both give the
same verdicts.
"""

import ctypes
import errno
import platform

try:
    import pyseccomp
except (ImportError, OSError, RuntimeError, AttributeError):  # not installed, or no libseccomp.so to load
    pyseccomp = None

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
#: machine -> (audit arch, socket syscall number); io_uring_setup is 425 on both.
SECCOMP_ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
NR_IO_URING_SETUP, AF_UNIX = 425, 1
#: x32 system calls arrive with the x86_64 audit arch and this bit set in their number.
X32_SYSCALL_BIT = 0x40000000


def forbid_unix_sockets(libc):
    """Install the filter (libseccomp's if it can, else the hand-built one); True if installed.

    Needs no_new_privs (or CAP_SYS_ADMIN) set beforehand.
    """
    return install(libc) is not None


def install(libc):
    """Install the filter; which builder did it ("libseccomp" or "hand-built"), or None if neither could."""
    if install_libseccomp():
        return "libseccomp"
    if install_hand_built(libc):
        return "hand-built"
    return None


def install_libseccomp():
    """The filter built by libseccomp; True if installed, False without pyseccomp or if libseccomp refused."""
    if pyseccomp is None:
        return False
    try:
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        rules.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
        deny = pyseccomp.ERRNO(errno.EACCES)
        rules.add_rule(deny, "socket", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 0xFFFFFFFF, AF_UNIX))
        rules.add_rule(deny, "io_uring_setup")
        rules.load()
    except (OSError, RuntimeError, ValueError):
        return False
    return True


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def install_hand_built(libc):
    """The fallback: the same filter assembled here as classic BPF; True if installed."""
    if platform.machine() not in SECCOMP_ARCHES:
        return False
    arch, nr_socket = SECCOMP_ARCHES[platform.machine()]
    load, ret = 0x20, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_RET|BPF_K
    jump_equal, jump_at_least = 0x15, 0x35  # BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EACCES  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | errno
    kill = 0x80000000  # SECCOMP_RET_KILL_PROCESS
    # (code, jt, jf, k); a jump goes to the next instruction plus jt (if true) or jf (if false)
    program = [
        (load, 0, 0, 4),  # 0: seccomp_data.arch
        (jump_equal, 0, 9, arch),  # 1: another ABI -> 11 kill
        (load, 0, 0, 0),  # 2: seccomp_data.nr
        (jump_at_least, 0, 1, X32_SYSCALL_BIT),  # 3: x32 -> 4, else 5
        (jump_equal, 4, 6, 0xFFFFFFFF),  # 4: nr -1 (a tracer skipped the call) -> 9 allow, x32 -> 11 kill
        (jump_equal, 4, 0, NR_IO_URING_SETUP),  # 5: -> 10 deny
        (jump_equal, 0, 2, nr_socket),  # 6: not socket -> 9 allow
        (load, 0, 0, 16),  # 7: low half of seccomp_data.args[0]: the address family
        (jump_equal, 1, 0, AF_UNIX),  # 8: -> 10 deny
        (ret, 0, 0, allow),  # 9
        (ret, 0, 0, deny),  # 10
        (ret, 0, 0, kill),  # 11
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    fprog = _SockFprog(len(program), filters)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) == 0
