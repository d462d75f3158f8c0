"""nbgrader configuration of the course: solutions/ is the source, notebooks/ the release."""

import os

from grader.course import AUTOGRADE_PREPROCESSORS, GENERATE_ASSIGNMENT_PREPROCESSORS
from grader.preprocessors import RepollingKernelClient
from grader.settings import share_with_nbgrader

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "gmm-em"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.GenerateAssignment.preprocessors = GENERATE_ASSIGNMENT_PREPROCESSORS
c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
# Validate (the Lab's button) keeps nbgrader's own Execute, whose kernel manager reads this: its shell channel looks
# for the execute reply again every second, so an ipywidgets cell cannot hang Validate until the cell timeout.
c.AsyncKernelManager.client_factory = RepollingKernelClient

# The grader's settings (README, "Settings"), e.g. c.Grading.workers = 8 or c.Intake.max_notebook_mb = 16.
# Student cells print EM progress: the default cell timeout (120 s) is generous and still ends a runaway loop.

# Last: Validate and plain nbgrader time cells out as the grader does.
share_with_nbgrader(c)
