"""nbgrader preprocessors of this course."""

from .clearblanks import ClearSolutionsAndBlanks, blank_out
from .execute import RepollingKernelClient, SocketFolderExecute, SocketFolderKernelManager

__all__ = [
    "ClearSolutionsAndBlanks",
    "RepollingKernelClient",
    "SocketFolderExecute",
    "SocketFolderKernelManager",
    "blank_out",
]
