"""The instructor pipeline: collect submissions, execute them in parallel sandboxes, grade with nbgrader, report."""
