"""The C library through ctypes, with the prototypes the sandbox needs (Linux only)."""

import ctypes

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000


def libc():
    handle = ctypes.CDLL(None, use_errno=True)
    handle.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    handle.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return handle


def unshare(handle, flag):
    """Move this process into a new namespace of kind ``flag`` (a ``CLONE_NEW*``); True if done."""
    return handle.unshare(flag) == 0
