"""GMM-EM course kit: reference EM, notebook checks, nbgrader integration and the instructor CLI."""

import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gmm-em-course")  # declared once, in pyproject.toml
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "unknown"

# jsonschema (under nbformat and nbgrader) imports the optional rfc3987-syntax, which the Jupyter stack installs, to
# check "iri" formats; that package builds a Lark grammar at import: measured 2.2 of jsonschema's 2.3 s import, paid
# by every grading process, CLI call and worker. Nothing here checks formats, so it is not imported here.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
