"""A throwaway copy of the course with its own gradebook, for tests that grade."""

import shutil

import nbformat

from grader.course import DEFAULT_ROOT, Course, read_grades


class CourseCopy(Course):
    """A course copied to a temp folder, with its own gradebook, ready for submissions.

    Assignments are released into the gradebook on first use, so a test pays
    only for the assignments it grades.
    """

    _released = ()

    def ensure_released(self, assignment_id):
        if assignment_id not in self._released:
            self.generate_release(assignments=[assignment_id])
            self._released = (*self._released, assignment_id)

    def release_notebook(self, assignment_id, notebook=None):
        self.ensure_released(assignment_id)
        notebook = notebook or self.notebooks(assignment_id)[0]
        return nbformat.read(self.release / assignment_id / f"{notebook}.ipynb", as_version=4)

    def solution_notebook(self, assignment_id, notebook=None):
        notebook = notebook or self.notebooks(assignment_id)[0]
        return nbformat.read(self.solutions / assignment_id / f"{notebook}.ipynb", as_version=4)

    def submit(self, student_id, assignment_id, nb, notebook=None):
        notebook = notebook or self.notebooks(assignment_id)[0]
        folder = self.root / "submitted" / student_id / assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{notebook}.ipynb")

    def plain_autograde(self, assignment_id):
        """Real nbgrader autograde of everything submitted; {student: {grade_id: (score, max)}}."""
        self.ensure_released(assignment_id)
        self.nbgrader_autograde(assignment_id)
        by_student = {}
        for (student, _notebook, grade_id), score in read_grades(self.db_url(), assignment_id).items():
            by_student.setdefault(student, {})[grade_id] = score
        return by_student


def copy_course(target):
    target.mkdir(parents=True)
    shutil.copy(DEFAULT_ROOT / "nbgrader_config.py", target)
    for folder in ("solutions", "notebooks"):
        shutil.copytree(DEFAULT_ROOT / folder, target / folder)
    return target
