"""A seccomp filter: no Unix sockets, no io_uring.

The network namespace stops TCP, but a Unix socket file anywhere on the
(read-only) file system still accepts root's connections: a database
server's, say. io_uring could create sockets behind the filter's back.
"""

import ctypes
import platform

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
#: machine -> (audit arch, socket syscall number); io_uring_setup is 425 on both.
SECCOMP_ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
NR_IO_URING_SETUP, AF_UNIX, EACCES = 425, 1, 13


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def forbid_unix_sockets(libc):
    """Seccomp filter: socket(AF_UNIX, ...) and io_uring fail with EACCES; True if installed.

    Needs no_new_privs (or CAP_SYS_ADMIN) set beforehand.
    """
    if platform.machine() not in SECCOMP_ARCHES:
        return False
    arch, nr_socket = SECCOMP_ARCHES[platform.machine()]
    load, jump_equal, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
    allow, deny = 0x7FFF0000, 0x00050000 | EACCES  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | errno
    program = [
        (load, 0, 0, 4),  # seccomp_data.arch
        (jump_equal, 0, 5, arch),
        (load, 0, 0, 0),  # seccomp_data.nr
        (jump_equal, 4, 0, NR_IO_URING_SETUP),
        (jump_equal, 0, 2, nr_socket),
        (load, 0, 0, 16),  # low half of seccomp_data.args[0]: the address family
        (jump_equal, 1, 0, AF_UNIX),
        (ret, 0, 0, allow),
        (ret, 0, 0, deny),
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    fprog = _SockFprog(len(program), filters)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) == 0
