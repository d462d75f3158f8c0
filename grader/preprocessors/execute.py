"""nbgrader's Execute with each kernel reached through Unix sockets of its own, not TCP ports.

A TCP kernel gets its ports from the client, which asks the system for free
ones, releases them and tells the kernel to bind them. Between release and
bind another kernel starting on the machine can take a port: measured in this
course's CI (several kernels starting at once), the kernel then exits with
"Address already in use" and nbgrader records the submission as failed. Unix
sockets in a folder made for one kernel cannot collide, and no other user of
the machine can connect to them.
"""

import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import default


class SocketFolderKernelManager(AsyncKernelManager):
    """A kernel whose five channels are Unix sockets in a private temporary folder."""

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
