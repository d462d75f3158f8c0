"""The course secret from which every hidden input is drawn.

Hidden inputs are derived from the secret and the assignment id alone, so
every grading run (and every Dask worker) draws the same ones, and nothing
about them is stored in the release.
"""

import hashlib
import hmac
import os
import secrets as token_source
from pathlib import Path

import numpy as np

SECRET_FILE = ".grader-secret"
SECRET_ENV = "GRADER_SECRET"


def course_secret(course_root: str | os.PathLike[str]) -> str:
    """The grading secret: ``$GRADER_SECRET``, else ``<course root>/.grader-secret`` (created on first use)."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = Path(course_root) / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token_source.token_hex(32) + "\n")
    return path.read_text().strip()


def generator(secret: str, assignment_id: str) -> np.random.Generator:
    """The generator hidden inputs of ``assignment_id`` are drawn from: reproducible, unguessable without the secret."""
    digest = hmac.new(secret.encode(), f"hidden-problem:{assignment_id}".encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))
