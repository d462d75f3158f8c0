"""The ledger next to each autograded submission: what was graded (a fingerprint) and its notes.

A re-run skips a submission whose ledger holds the same fingerprint. The
ledger is written last and atomically, so a grader killed midway leaves the
old ledger or the new one, never half of one.
"""

import json
import os
from pathlib import Path

LEDGER = "grader-ledger.json"


def path(autograded, student_id, assignment_id):
    """Where the ledger of one student's assignment lives under the autograded folder."""
    return Path(autograded) / student_id / assignment_id / LEDGER


def read(autograded, student_id, assignment_id):
    """The ledger as a dict, or None if there is none (or it cannot be read)."""
    try:
        return json.loads(path(autograded, student_id, assignment_id).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write(autograded, student_id, assignment_id, fingerprint, notes):
    """Record that ``fingerprint`` was graded, with its notes."""
    target = path(autograded, student_id, assignment_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps({"fingerprint": fingerprint, "notes": notes}, indent=1, sort_keys=True))
        os.replace(temporary, target)  # atomic: a crash leaves the old ledger or the new one
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk leaves no half-written ledger behind
        raise


def is_graded(autograded, student_id, assignment_id, fingerprint):
    """Whether exactly this fingerprint was graded already."""
    ledger = read(autograded, student_id, assignment_id)
    return bool(ledger) and ledger.get("fingerprint") == fingerprint
