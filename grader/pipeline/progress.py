"""A progress bar with graded/total and ETA for the terminal (rich)."""

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ProgressBar:
    """The ``progress`` object :meth:`grader.pipeline.autograde.Grader.run` reports to."""

    def __init__(self, console=None):
        self._progress = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = None

    def start(self, total):
        self._progress.start()
        self._task = self._progress.add_task("grading", total=total)

    def advance(self):
        assert self._task is not None, "advance() before start()"
        self._progress.advance(self._task)

    def stop(self):
        self._progress.stop()
