"""The per-submission limits :func:`grader.runtime.sandbox.enter` applies."""

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; defaults are far above what a correct solution needs.

    ``hidden`` lists paths student code must not see at all (they are covered
    by empty read-only mounts where the platform allows it).
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 300.0
    memory_bytes: int = 4 * 2**30
    output_bytes: int = 2 * 2**20
    file_bytes: int = 64 * 2**20
    scratch_bytes: int = 256 * 2**20
    max_processes: int = 256
    hidden: tuple = ()

    def hiding(self, *paths):
        """These limits with ``paths`` added to the hidden ones."""
        resolved = {os.path.realpath(p) for p in paths if p}
        return replace(self, hidden=tuple(sorted(resolved.union(self.hidden))))
