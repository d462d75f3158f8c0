"""nbgrader configuration of the course: solutions/ is the source, notebooks/ the release."""

import os

from grader.course import GENERATE_ASSIGNMENT_PREPROCESSORS

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "gmm-em"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.GenerateAssignment.preprocessors = GENERATE_ASSIGNMENT_PREPROCESSORS
# Student cells print EM progress; a generous limit still ends a runaway loop.
c.ExecutePreprocessor.timeout = 120
