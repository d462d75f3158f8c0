"""The mount namespace's file system: read-only everywhere, hidden paths, a private /tmp and /dev.

Called by :func:`grader.runtime.sandbox.enter` after ``unshare(CLONE_NEWNS)``;
every change here is private to the run's mount namespace.
"""

import os
import re
import stat
import sys
import tempfile

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
#: Per-mount options a bind remount must repeat, or it silently clears them.
MOUNT_OPTIONS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}

#: Hidden from every run: service sockets (a database's, say) and container secrets live here.
SYSTEM_HIDDEN = ("/run",)

#: The only device nodes student code gets: (major, minor) of each character device.
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}


def _mount(libc, source, target, fstype, flags, data=None):
    def encode(s):
        return s.encode() if isinstance(s, str) else s

    return libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) == 0


def _mount_points():
    """(mount point, per-mount flags) of every mount this process sees, outermost first."""
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            # mountinfo escapes spaces and other odd bytes in paths as \ooo
            point = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), fields[4])
            flags = sum(MOUNT_OPTIONS.get(option, 0) for option in fields[5].split(","))
            points.append((point, flags))
    return points


def _read_only_everywhere(libc):
    """Remount every mount read-only; True unless a reachable one refused."""
    complete = True
    for point, flags in _mount_points():
        refused = not _mount(libc, None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        # a mount point covered by a later mount cannot be reached, so it needs no protection
        if refused and os.path.exists(point) and not _covered(point):
            complete = False
    return complete


def _covered(point):
    """Whether ``point`` is shadowed (its path now resolves into another, read-only mount)."""
    try:
        return bool(os.statvfs(point).f_flag & os.ST_RDONLY)
    except OSError:
        return True


def _hide(libc, path):
    """Cover ``path`` with an empty read-only mount; True if it is now hidden.

    A folder that holds Python or this package (say ``--out`` pointed at the
    checkout) is left visible and reported, rather than breaking every run.
    """
    if _holds_python(path):
        return False
    if os.path.isdir(path):
        return _mount(libc, "hidden", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")
    if os.path.exists(path):
        return _mount(libc, os.devnull, path, None, MS_BIND) and _mount(
            libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY
        )
    return True


def _holds_python(folder):
    """Whether the interpreter, its libraries or this package live in ``folder``."""
    import grader

    folder = os.path.realpath(folder)
    # sys.path[0] is only the directory the grader was started from, not needed by student code
    needed = [sys.prefix, sys.base_prefix, *sys.path[1:], os.path.dirname(grader.__file__)]
    return any(
        os.path.realpath(p) == folder or os.path.realpath(p).startswith(folder + os.sep)
        for p in needed
        if os.path.isabs(p)
    )


def _scratch_root(workdir):
    """The temp folder to replace by a private tmpfs: the workdir's parent, unless Python is installed there."""
    root = os.path.realpath(os.path.dirname(workdir))
    if root == os.path.realpath(tempfile.gettempdir()) and not _holds_python(root):
        return root
    return os.path.realpath(workdir)


def private_filesystem(libc, limits, workdir, applied):
    """Read-only file system with hidden paths and a private writable tmpfs holding ``workdir``.

    Records what it achieved in ``applied`` ({protection: bool}).
    """
    if not _mount(libc, None, "/", None, MS_REC | MS_PRIVATE):
        return  # without private mounts, every change below would leak to the host
    applied["mount-namespace"] = True
    root = _scratch_root(workdir)  # before the file system turns read-only: tempfile probes it for writing
    if applied.get("pid-namespace"):
        _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    applied["hidden-paths"] = all(_hide(libc, path) for path in (*limits.hidden, *SYSTEM_HIDDEN))
    applied["read-only-filesystem"] = _read_only_everywhere(libc)
    scratch = f"size={limits.scratch_bytes},mode=1777"
    applied["private-tmp"] = _mount(libc, "scratch", root, "tmpfs", MS_NOSUID | MS_NODEV, scratch)
    applied["private-dev"] = _private_dev(libc, scratch)


def _private_dev(libc, shm_options):
    """A read-only /dev with only harmless devices and a private /dev/shm.

    Root without capabilities still owns the disks' device nodes, and a
    read-only mount does not stop writes to a device: the host's /dev must go.
    """
    if not _mount(libc, "dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755"):
        return False
    try:
        for name, (major, minor) in DEVICES.items():
            os.mknod(f"/dev/{name}", stat.S_IFCHR | 0o666, os.makedev(major, minor))
            os.chmod(f"/dev/{name}", 0o666)
        for name, target in (
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ):
            os.symlink(target, f"/dev/{name}")
        os.mkdir("/dev/shm")
    except OSError:
        return False
    return _mount(libc, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, shm_options) and _mount(
        libc, None, "/dev", None, MS_REMOUNT | MS_NOSUID | MS_NOEXEC | MS_RDONLY
    )
