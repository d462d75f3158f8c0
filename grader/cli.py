"""``grader``: the instructor's command line, a thin layer over the Python API.

Subcommands: release, autograde, feedback, export, gradescope, demo, lab.
Run ``grader <subcommand> --help`` for the options of each.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from .course import Course, CourseError
from .pipeline.errors import OutputError
from .pipeline.submissions import CANVAS_REGEX, SubmissionsError
from .settings import Grading, Intake, flag

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _course(args):
    return Course(args.course) if args.course else Course()


def cmd_release(args):
    course = _course(args)
    target = course.generate_release(assignments=args.assignment or None)
    console.print(f"released {', '.join(args.assignment or course.assignments)} into {target}")


def _settings(args):
    """The grading settings given on the command line (None: not given, the course's config decides)."""
    return {name: getattr(args, name, None) for settings in (Grading, Intake) for name in settings.names()}


def _autograde(course, submissions, out, args):
    from .pipeline.autograde import autograde
    from .pipeline.progress import ProgressBar
    from .pipeline.report import console_table

    run = autograde(
        submissions,
        out,
        course=course,
        progress=ProgressBar(console),
        lms_assignment=getattr(args, "assignment", None),
        collector_regex=getattr(args, "collector_regex", CANVAS_REGEX),
        **_settings(args),
    )
    for problem in run.problems:
        errors.print(f"[yellow]warning[/yellow] {problem.path}: {problem.message}")
    for (student, assignment), why in run.failures.items():
        errors.print(
            f"[red]error[/red] {student}/{assignment}: nbgrader could not grade it: {why} "
            "(it is graded again on the next run)"
        )
    if run.regraded:
        errors.print(
            f"[yellow]warning[/yellow] {run.db_url}: the gradebook had no grades for "
            f"{len(run.regraded)} submission(s) graded before; they were graded again"
        )
    for page, why in run.feedback_errors.items():
        errors.print(f"[yellow]warning[/yellow] {page}: feedback not written ({why}); the grades are in grades.csv")
    console_table(run.rows, console)
    console.print(
        f"graded {len(run.graded)} submission(s), {len(run.skipped)} already graded; "
        f"grades: {Path(out) / 'grades.csv'}; summary: {Path(out) / 'summary.html'}; "
        f"feedback: {Path(out) / 'feedback'}"
    )
    return run


def cmd_autograde(args):
    _autograde(_course(args), args.submissions, args.out, args)


def cmd_demo(args):
    from .sample_class import BUNDLED

    out = args.out or Path(tempfile.gettempdir()) / "gmm-em-demo"
    console.print(f"grading the bundled sample class {BUNDLED} on a local SQLite gradebook in {out}")
    _autograde(_course(args), BUNDLED, out, args)
    console.print(f"open the class report: {Path(out).resolve() / 'summary.html'}")


def cmd_feedback(args):
    from .pipeline.autograde import Grader
    from .pipeline.feedback import FeedbackWriter
    from .pipeline.report import collect_rows

    grader = Grader(_course(args), args.out, db_url=args.db_url)
    with FeedbackWriter(grader) as writer:
        written = writer.write(collect_rows(grader))
    for page, why in writer.errors.items():
        errors.print(f"[yellow]warning[/yellow] {page}: feedback not written ({why})")
    console.print(f"wrote {len(written)} feedback file(s) under {Path(args.out) / 'feedback'}")


def cmd_export(args):
    from .lms.export import ExportError, export

    try:
        mapping = dict(item.split("=", 1) for item in args.map or ())
        result = export(
            args.out, args.to, args.format, roster=args.roster, key=args.roster_key, mapping=mapping, db_url=args.db
        )
    except ValueError:
        errors.print("[red]error[/red] --map takes ASSIGNMENT=COLUMN (a roster column or the LMS's assignment id)")
        return 2
    except ExportError as error:
        errors.print(f"[red]error[/red] {error}")
        return 2
    for warning in result.warnings:
        errors.print(f"[yellow]warning[/yellow] {warning}")
    if result.new_columns:
        errors.print(
            f"[yellow]note[/yellow] no roster column for {', '.join(result.new_columns)}: written as new "
            "column(s), which the LMS offers to create on import"
        )
    matched = f", students matched on the roster's {result.key!r}" if result.key else ""
    console.print(f"exported {args.format} grades to {args.to}{matched}")


def cmd_gradescope(args):
    from .lms.gradescope import build

    course = _course(args)
    target = build(args.assignment, args.out, course=course, hidden_visibility=args.hidden_visibility)
    console.print(
        f"wrote {target}: upload it as the assignment's autograder on Gradescope (it holds the course "
        "secret: keep it private)"
    )


def cmd_lab(args):
    from .apps.lab import fetch_assignments, launch_lab, workspace_path

    course = _course(args)
    workspace = workspace_path(course, args.workspace)
    for assignment_id, fetched in fetch_assignments(course, workspace).items():
        if fetched.new:
            console.print(f"fetched {assignment_id} into {fetched.path}")
        elif fetched.copied:
            console.print(
                f"{assignment_id}: restored the missing {', '.join(fetched.copied)}; your other files are unchanged"
            )
    console.print(f"your workspace: {workspace} (your files there are never overwritten)")
    if args.fetch_only:
        return 0
    return launch_lab(course.root, workspace, port=args.port, open_browser=not args.no_browser)


def parser():
    main = argparse.ArgumentParser(prog="grader", description="GMM-EM course: release, autograde and report.")
    main.add_argument("--course", type=Path, help="course root (default: this checkout)")
    commands = main.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader)")
    release.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    release.set_defaults(func=cmd_release)

    def grading_options(sub):
        """One flag per setting (grader.settings); unset, the course's nbgrader_config.py decides."""
        for settings in (Grading, Intake):
            for name, trait in sorted(settings.class_traits(config=True).items()):
                sub.add_argument(
                    flag(name, trait),
                    dest=name,
                    type=type(trait.default_value),
                    default=None,
                    help=f"{trait.help} (c.{settings.__name__}.{name}, default {trait.default_value!r})",
                )

    autograde = commands.add_parser("autograde", help="grade a folder or zip of submissions")
    autograde.add_argument(
        "submissions", type=Path, help="folder or zip laid out <student_id>/<assignment_id>/<notebook>.ipynb"
    )
    autograde.add_argument("--out", type=Path, default=Path("grading-report"), help="output folder")
    autograde.add_argument(
        "--assignment",
        help="SUBMISSIONS is an LMS download of this assignment, with the "
        "student id in each file name (see --collector-regex)",
    )
    autograde.add_argument(
        "--collector-regex",
        default=CANVAS_REGEX,
        help="nbgrader zip-collect pattern with groups student_id and file_id (default: Canvas download names)",
    )
    grading_options(autograde)
    autograde.set_defaults(func=cmd_autograde)

    demo = commands.add_parser("demo", help="grade the bundled sample class end to end")
    demo.add_argument("--out", type=Path, help="output folder (default: a folder in the temp directory)")
    grading_options(demo)
    demo.set_defaults(func=cmd_demo)

    feedback = commands.add_parser("feedback", help="regenerate the feedback HTML of an output folder")
    feedback.add_argument("out", type=Path)
    feedback.add_argument("--db", dest="db_url", help="gradebook URL if not the output folder's")
    feedback.set_defaults(func=cmd_feedback)

    export = commands.add_parser(
        "export", help="export grades for an LMS (Canvas, Moodle), per question, or nbgrader's totals"
    )
    export.add_argument("out", type=Path, help="output folder of an autograde run")
    export.add_argument("--to", type=Path, default=Path("totals.csv"))
    export.add_argument(
        "--format",
        choices=("nbgrader", "canvas", "moodle", "per-question"),
        default="nbgrader",
        help="nbgrader: its totals CSV (default); canvas, moodle: the LMS's gradebook import CSV; "
        "per-question: one row per student, one column per graded cell",
    )
    export.add_argument(
        "--roster",
        type=Path,
        help="the gradebook CSV the LMS exports (students, their ids and the "
        "assignment columns); needed for canvas and moodle",
    )
    export.add_argument(
        "--roster-key",
        help="the roster column that holds the report's student ids (default: the one that matches most)",
    )
    export.add_argument(
        "--map",
        action="append",
        metavar="ASSIGNMENT=COLUMN",
        help="the roster column (or LMS assignment id) of an assignment whose LMS title differs",
    )
    export.add_argument("--db", help="gradebook URL if not the output folder's (nbgrader format)")
    export.set_defaults(func=cmd_export)

    gradescope = commands.add_parser("gradescope", help="grade on Gradescope with this pipeline")
    gradescope_commands = gradescope.add_subparsers(dest="gradescope_command", required=True)
    gradescope_build = gradescope_commands.add_parser(
        "build", help="write the autograder zip (setup.sh, run_autograder, the grader, the course) of an assignment"
    )
    gradescope_build.add_argument("assignment", help="assignment id")
    gradescope_build.add_argument("--out", type=Path, default=Path("autograder.zip"))
    gradescope_build.add_argument(
        "--hidden-visibility",
        choices=("after_due_date", "after_published", "visible"),
        default="after_due_date",
        help="when students see the tests on hidden inputs, which carry the points, and "
        "so their total (default: after the due date)",
    )
    gradescope_build.set_defaults(func=cmd_gradescope)

    lab = commands.add_parser(
        "lab", help="copy the release into your workspace (first start) and open JupyterLab there"
    )
    lab.add_argument(
        "--workspace",
        type=Path,
        help="your folder for the notebooks (default: nbgrader's Exchange.assignment_dir, ~/gmm-em)",
    )
    lab.add_argument("--port", type=int)
    lab.add_argument("--no-browser", action="store_true")
    lab.add_argument("--fetch-only", action="store_true", help="copy what is missing into the workspace, no JupyterLab")
    lab.set_defaults(func=cmd_lab)
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        status = args.func(args)
    except (CourseError, SubmissionsError, OutputError) as error:
        errors.print(f"[red]error[/red] {error}")
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
