"""What the catalogue tests share: the documented catalogue, and what a leaked number looks like."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "misconceptions.md"
TABLE_START, TABLE_END = "<!-- detection-table:start -->", "<!-- detection-table:end -->"
#: A decimal number that is not an equation or section reference: an expected value leaking out.
NUMBER = re.compile(r"(?<!eq\. )(?<!eq\. \()(?<!eqs\. )(?<!section )(?<![\d.])\d+\.\d+")
