"""The grader's settings, each declared once, as a traitlet.

One setting, three ways to set it, later ones winning: the course's
``nbgrader_config.py`` (``c.Grading.workers = 8``), the command line
(``grader autograde --workers 8``) and the Python API
(``autograde(..., workers=8)``). The README's "Settings" table lists them;
a test keeps it in step with the traits. :class:`Grading` says how a class is
graded, :class:`Intake` how much of its input is read at all.
"""

import os
from collections.abc import Iterable
from typing import Any, Self

from traitlets import Float, Int, Unicode
from traitlets.config import Config, Configurable

from .runtime.sandbox import Limits

_DEFAULTS = Limits()


class Settings(Configurable):
    """Settings read from a course's ``nbgrader_config.py``, overridable per run."""

    @classmethod
    def for_course(cls, course: Any, **overrides: Any) -> Self:
        """The settings of ``course`` (its ``nbgrader_config.py``) with ``overrides`` (None: not given) on top."""
        given = {name: value for name, value in overrides.items() if value is not None}
        unknown = set(given) - set(cls.class_trait_names(config=True))
        if unknown:
            raise TypeError(f"not a setting of {cls.__name__}: {', '.join(sorted(unknown))} (see grader.settings)")
        return cls(config=course.config(), **given)

    @classmethod
    def names(cls) -> list[str]:
        return sorted(cls.class_trait_names(config=True))


class Grading(Settings):
    """How a class is graded: parallelism, where the gradebook is, what one notebook run may use."""

    workers = Int(0, help="Notebook runs in parallel on this machine (0: one per core).").tag(config=True)
    scheduler = Unicode(
        "", help="Address of a Dask scheduler (tcp://host:port): run the notebooks on its workers instead."
    ).tag(config=True)
    db_url = Unicode("", help="SQLAlchemy URL of the gradebook (empty: SQLite in the output folder).").tag(
        config=True, flag="--db"
    )
    cell_timeout = Float(_DEFAULTS.cell_timeout, help="Seconds one cell may run; then it fails with timeout.").tag(
        config=True
    )
    notebook_timeout = Float(
        _DEFAULTS.notebook_timeout, help="Seconds a whole notebook may run; the cells left score 0."
    ).tag(config=True)
    memory_mb = Int(_DEFAULTS.memory_bytes // 2**20, help="Address space of one notebook run (MiB).").tag(config=True)
    output_kb = Int(
        _DEFAULTS.output_bytes // 2**10, help="Output one notebook run may print or display (KiB); the rest is cut."
    ).tag(config=True)
    file_mb = Int(_DEFAULTS.file_bytes // 2**20, help="Largest file one notebook run may write (MiB).").tag(config=True)
    scratch_mb = Int(_DEFAULTS.scratch_bytes // 2**20, help="Private /tmp of one notebook run (MiB).").tag(config=True)
    max_processes = Int(_DEFAULTS.max_processes, help="Processes and threads one notebook run may have.").tag(
        config=True
    )
    feedback_renderers = Int(
        -1,
        help="Processes that write feedback pages while grading goes on (0: in the grading process; "
        "-1: one per 8 workers).",
    ).tag(config=True)

    @property
    def parallel(self) -> int:
        """How many notebook runs go at once on this machine."""
        return self.workers or os.cpu_count() or 1

    @property
    def renderers(self) -> int:
        """Feedback processes beside grading (rendering a page costs a twentieth of grading its notebook)."""
        if self.feedback_renderers >= 0:
            return self.feedback_renderers
        return -(-self.parallel // 8) if self.parallel > 1 else 0

    def limits(self, hidden: Iterable[str] = ()) -> Limits:
        """The sandbox :class:`Limits` of one notebook run, with ``hidden`` paths student code must not see."""
        return Limits(
            cell_timeout=self.cell_timeout,
            notebook_timeout=self.notebook_timeout,
            memory_bytes=self.memory_mb * 2**20,
            output_bytes=self.output_kb * 2**10,
            file_bytes=self.file_mb * 2**20,
            scratch_bytes=self.scratch_mb * 2**20,
            max_processes=self.max_processes,
        ).hiding(*hidden)


class Intake(Settings):
    """How much of a class's input the grader reads; anything beyond is refused unread."""

    max_notebook_mb = Int(
        32,
        help="A notebook larger than this (MiB) is refused before it is read, graded as zero with the note too-large.",
    ).tag(config=True)
    max_zip_mb = Int(4096, help="A zip whose members declare more than this (MiB) in all is refused as a whole.").tag(
        config=True
    )
    max_zip_members = Int(100_000, help="A zip with more members than this is refused as a whole.").tag(config=True)
    max_zip_ratio = Int(
        100,
        help="A zip member of at least 1 MiB compressed more than this many times is refused "
        "unread, with the note compression-ratio.",
    ).tag(config=True)

    @property
    def notebook_bytes(self) -> int:
        return self.max_notebook_mb * 2**20


def settings_table() -> list[tuple[str, str, str, str]]:
    """(setting, command-line flag, default, meaning) of every setting, as the README lists them."""
    rows = []
    for settings in (Grading, Intake):
        for name, trait in sorted(settings.class_traits(config=True).items()):
            rows.append(
                (f"c.{settings.__name__}.{name}", f"`{flag(name, trait)}`", repr(trait.default_value), trait.help)
            )
    return rows


def settings_markdown() -> str:
    """The README's settings table."""
    lines = ["| setting (`nbgrader_config.py`) | command line | default | meaning |", "|---|---|---|---|"]
    for setting, option, default, meaning in settings_table():
        lines.append(f"| `{setting}` | {option} | `{default}` | {meaning} |")
    return "\n".join(lines)


def flag(name: str, trait: Any) -> str:
    return trait.metadata.get("flag") or "--" + name.replace("_", "-")


def share_with_nbgrader(config: Config) -> None:
    """nbgrader's own runs of the course (Validate, plain ``nbgrader autograde``) time cells out as the grader does.

    Call it last in ``nbgrader_config.py``, after any ``c.Grading`` line.
    """
    config.Execute.timeout = int(Grading(config=config).cell_timeout)
