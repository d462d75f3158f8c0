"""A preloaded process that forks one sandboxed child per notebook.

The zygote imports NumPy, SciPy, Matplotlib and IPython once; each child it
forks starts with all of them loaded, so running a submission costs a fork
instead of an interpreter or kernel start. It is a plain subprocess, so it
works where ``multiprocessing`` refuses to start children (daemonic Dask
workers) and never re-imports the caller's ``__main__``.

Protocol on the control socket: the parent sends one byte with two file
descriptors attached (the child's input pipe and output pipe); the zygote
forks, answers with the child's pid as 8 bytes, and forgets the child (its
exit is reaped automatically). The child reads its pickled job from the input
pipe and streams results on the output pipe (see :mod:`.executor`).
"""

import atexit
import contextlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading

PRELOAD = [
    "numpy",
    "scipy.stats",
    "scipy.special",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline",
    "matplotlib_inline.backend_inline",
    "IPython",
    "IPython.core.interactiveshell",
    "grader.runtime.shell",
    "grader.runtime.executor",
    "grader.runtime.sandbox",
]

ENVIRONMENT = {
    # one BLAS thread per child: the parallelism is across submissions
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


class Zygote:
    """Parent-side handle: ``spawn(job)`` returns (pid, result connection)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None
        self._control: socket.socket | None = None
        self._preload = []

    def preload(self, *modules):
        """Have the zygote import ``modules`` too (the caller's: checks, the verification child).

        Takes effect when the zygote starts; children of a zygote started
        earlier import what they miss themselves.
        """
        with self._lock:
            self._preload.extend(m for m in modules if m not in self._preload)

    def _start(self):
        parent, child = socket.socketpair()
        # the verification secret must not be inherited: a child could read it back from /proc/self/environ
        env = {k: v for k, v in os.environ.items() if k != "GRADER_SECRET"} | ENVIRONMENT
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.runtime.zygote", str(child.fileno()), *self._preload],
            pass_fds=[child.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self._control = parent
        atexit.register(self.close)

    def start(self):
        """Start the zygote now, if it is not running: it imports in the background while the caller goes on."""
        with self._lock:
            self._ensure_running()

    def _ensure_running(self):
        if self._process is None or self._process.poll() is not None:
            self._start()

    def spawn(self, job, duplex=False):
        """Fork a child that runs ``job`` (a picklable (function, args) pair): (pid, results connection).

        With ``duplex`` the function also gets ``requests=`` (a connection to
        read from) and the caller gets its writable end: (pid, results, requests).
        """
        from multiprocessing.connection import Connection

        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        with self._lock:
            self._ensure_running()
            assert self._control is not None  # _ensure_running connected it
            socket.send_fds(self._control, [b"j"], [to_child_r, from_child_w])
            pid = struct.unpack("q", _recv_exactly(self._control, 8))[0]
        os.close(to_child_r)
        os.close(from_child_w)
        requests = Connection(to_child_w, readable=False)
        with contextlib.suppress(BrokenPipeError, OSError):
            requests.send_bytes(pickle.dumps((*job, duplex)))
        results = Connection(from_child_r, writable=False)
        if duplex:
            return pid, results, requests
        requests.close()
        return pid, results

    def close(self):
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the zygote process exited")
        data += chunk
    return data


_shared = None
_shared_lock = threading.Lock()


def shared():
    """The zygote of this process, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Zygote()
        return _shared


def _serve(control_fd):
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 1, 2)
        except OSError:
            return
        if not message:
            return
        job_fd, result_fd = fds
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _run_child(job_fd, result_fd)
        os.close(job_fd)
        os.close(result_fd)
        control.sendall(struct.pack("q", pid))


def _run_child(job_fd, result_fd):
    from multiprocessing.connection import Connection

    try:
        jobs = Connection(job_fd, writable=False)
        function, args, duplex = pickle.loads(jobs.recv_bytes())
        if duplex:
            function(Connection(result_fd, readable=False), *args, requests=jobs)
        else:
            jobs.close()
            function(Connection(result_fd, readable=False), *args)
    finally:
        os._exit(0)


if __name__ == "__main__":
    for name in PRELOAD + sys.argv[2:]:
        __import__(name)
    _serve(int(sys.argv[1]))
