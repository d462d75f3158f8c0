"""nbgrader preprocessors of this course."""

from .clearblanks import ClearSolutionsAndBlanks, blank_out

__all__ = ["ClearSolutionsAndBlanks", "blank_out"]
