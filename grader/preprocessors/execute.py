"""nbgrader's Execute with each kernel reached through Unix sockets of its own, by a client that re-polls.

A TCP kernel gets its ports from the client, which asks the system for free
ones, releases them and tells the kernel to bind them. Between release and
bind another kernel starting on the machine can take a port: measured in this
course's CI (several kernels starting at once), the kernel then exits with
"Address already in use" and nbgrader records the submission as failed. Unix
sockets in a folder made for one kernel cannot collide, and no other user of
the machine can connect to them. The client's shell channel is a
:class:`RepollingChannel`, which a lost wake-up cannot stall.
"""

import shutil
import tempfile
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Type, default

#: Longest wait on the shell socket before looking again for a message that is already there.
REPOLL_SECONDS = 1.0


class RepollingChannel(AsyncZMQSocketChannel):
    """A shell channel whose wait for a message looks at the socket again every second until its timeout.

    An ipywidgets ``interact`` cell makes nbclient send comm messages on the
    shell socket while it waits there for the execute reply; now and then the
    reply's wake-up is lost and nbclient waits out the whole cell timeout, with
    the reply queued all along (jupyter/nbclient#312; notebook 02's slider in
    CI: two minutes). Measured, four kernels at once, 600 executions of such a
    cell: 8 took the full timeout with the plain channel; with this one 11
    waited one second and none longer. A new poll sees a queued message.
    """

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = REPOLL_SECONDS if deadline is None else min(REPOLL_SECONDS, deadline - time.monotonic())
            try:
                return await super().get_msg(timeout=max(left, 0.0))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class RepollingKernelClient(AsyncKernelClient):
    """nbclient's asynchronous kernel client, with a :class:`RepollingChannel` for the shell socket."""

    shell_channel_class = Type(RepollingChannel)


class SocketFolderKernelManager(AsyncKernelManager):
    """A kernel whose five channels are Unix sockets in a private temporary folder."""

    @default("client_factory")
    def _client_factory_default(self):
        return RepollingKernelClient

    @default("transport")
    def _transport_default(self):
        return "ipc"

    @default("ip")
    def _ip_default(self):
        # absolute: the kernel runs in the notebook's folder, the client wherever it was started;
        # a folder per kernel: ipc "ports" are numbered files, and two kernels must never pick the same one
        self._socket_folder = tempfile.mkdtemp(prefix="gmm-em-kernel-")
        return f"{self._socket_folder}/kernel"

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "_socket_folder", None):
            shutil.rmtree(self._socket_folder, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class SocketFolderExecute(Execute):
    """nbgrader's Execute preprocessor, with kernels on Unix sockets (:class:`SocketFolderKernelManager`)."""

    def __init__(self, *args, **kwargs):
        # nbgrader's own __init__ sets its kernel manager class by keyword, which would win over configuration
        kwargs.setdefault("kernel_manager_class", SocketFolderKernelManager)
        super().__init__(*args, **kwargs)
