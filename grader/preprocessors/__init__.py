"""nbgrader preprocessors of this course."""

from .clearblanks import ClearSolutionsAndBlanks, blank_out
from .execute import SocketFolderExecute, SocketFolderKernelManager

__all__ = ["ClearSolutionsAndBlanks", "SocketFolderExecute", "SocketFolderKernelManager", "blank_out"]
