"""GMM-EM course kit: reference EM, notebook checks, nbgrader integration and the instructor CLI."""

__version__ = "0.1.0"
