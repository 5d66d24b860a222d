"""Feedback without hidden tests (nbgrader#917), robust to what students write.

nbgrader's ``ClearHiddenTests`` strips the hidden block from every cell and raises when a
cell that is not a test cell contains the marker, so an answer with the comment
``# BEGIN HIDDEN TESTS`` made ``generate_feedback`` fail for that student. :class:`HideHiddenTests`
removes hidden blocks only from the test cells (whose source the grader restored from the
gradebook) and replaces every output line that quotes one of their lines by
``(hidden test)``, in every cell: tracebacks, and anything a student's code printed.
``nbgrader_config.py`` lists it in ``GenerateFeedback.preprocessors``.
"""
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def split_hidden(source):
    """(source without a well-formed hidden block, the block's lines) of a test cell."""
    lines = source.split("\n")
    marks = [i for i, line in enumerate(lines) if line.strip() in (BEGIN, END)]
    if len(marks) != 2 or lines[marks[0]].strip() != BEGIN or lines[marks[1]].strip() != END:
        return source, set()
    begin, end = marks
    hidden = {line.strip() for line in lines[begin + 1:end] if line.strip()}
    return "\n".join(lines[:begin] + lines[end + 1:]), hidden


def scrub(text, hidden):
    if not hidden:
        return text
    out = []
    for line in text.split("\n"):
        plain = ANSI.sub("", line).strip()
        out.append("(hidden test)" if plain and any(h in plain for h in hidden) else line)
    return "\n".join(out)


class HideHiddenTests(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off by default

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            if _is_test_cell(cell):
                cell.source, lines = split_hidden(cell.source)
                hidden |= lines
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [scrub(t, hidden) for t in output.get("traceback", [])]
                    output["evalue"] = scrub(output.get("evalue", ""), hidden)
                elif "text" in output:
                    output["text"] = scrub(output["text"], hidden)
                elif "text/plain" in output.get("data", {}):
                    output["data"]["text/plain"] = scrub(output["data"]["text/plain"], hidden)
        nb.metadata.pop("celltoolbar", None)
        return nb, resources
