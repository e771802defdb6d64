"""An isolated autograder for nbgrader assignments: see autograder/README.md."""
import sys

# nbformat's validator imports jsonschema, whose optional IRI format checker (rfc3987_syntax) builds a
# grammar at import: about a second of every grader process's start-up, before one result, for a format no
# notebook schema uses. None in sys.modules makes that optional import fail fast, as if not installed.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
