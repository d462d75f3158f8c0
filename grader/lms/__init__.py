"""Grades where instructors keep them: LMS gradebook exports (:mod:`.export`) and a Gradescope autograder
(:mod:`.gradescope`)."""
