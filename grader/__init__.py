"""GMM-EM course kit: reference EM, notebook checks, nbgrader integration and the instructor CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gmm-em-course")  # declared once, in pyproject.toml
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "unknown"
