#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu; the package needs Python
# 3.11 or newer: the image's python3 if it is, else python3.11 from apt, as on Ubuntu 22.04, Gradescope's default
# base image). /autograder/source holds the autograder zip:
# package/ (the grader), course/ (its solutions, release, specs and secret), grader-gradescope.json.
# Written by `grader gradescope build`; see gradescope-autograders.readthedocs.io, "Autograder Specifications".
set -euo pipefail
ROOT="${GRADESCOPE_AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"

python_ok() { command -v "$1" >/dev/null && "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))'; }

PYTHON=python3
if ! python_ok python3; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y python3.11 python3.11-venv || apt-get install -y python3 python3-venv
    PYTHON=$(command -v python3.11 || command -v python3)
    python_ok "$PYTHON" || { echo "setup.sh: no Python 3.11 or newer; choose the Ubuntu 24.04 base image" >&2; exit 1; }
fi

# GRADER_VENV_OPTIONS and GRADER_PIP_OPTIONS are for a local trial (the tests: --system-site-packages, --no-deps)
# shellcheck disable=SC2086
"$PYTHON" -m venv ${GRADER_VENV_OPTIONS:-} "$VENV"
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --quiet ${GRADER_PIP_OPTIONS:-} "$ROOT/source/package"
# student code runs as `nobody` where the sandbox cannot use namespaces: Python must stay readable
chmod -R a+rX "$VENV"
# fail the image build now rather than at the first submission
"$VENV/bin/python" -c "import grader.lms.gradescope, grader.verify, grader.pipeline.autograde"
