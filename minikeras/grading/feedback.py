"""A feedback preprocessor that keeps hidden tests out of tracebacks (nbgrader#917).

nbgrader's ``ClearHiddenTests`` removes the hidden block from a test cell's source, but a
failing cell's traceback still quotes the lines around the failure, hidden ones included.
:class:`ClearHiddenTracebacks` replaces every traceback line that quotes a line of the
cell's hidden block by ``(hidden test)``. It must run before ``ClearHiddenTests`` (which
throws the hidden block away); ``nbgrader_config.py`` registers it for ``generate_feedback``.
"""
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython prefixes quoted source lines with a line number, optionally behind an arrow.
QUOTED = re.compile(r"^\s*(?:-*>\s*)?\d+\s?(.*)$")


def hidden_lines(source):
    lines, inside = set(), False
    for line in source.splitlines():
        text = line.strip()
        if text == BEGIN:
            inside = True
        if inside and text:
            lines.add(text)
        if text == END:
            inside = False
    return lines


def scrub(text, hidden):
    out = []
    for line in text.split("\n"):
        m = QUOTED.match(ANSI.sub("", line))
        quoted = m.group(1).strip() if m else None
        out.append("    (hidden test)" if quoted and quoted in hidden else line)
    return "\n".join(out)


class ClearHiddenTracebacks(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off by default

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            return cell, resources
        hidden = hidden_lines(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [scrub(t, hidden) for t in output.get("traceback", [])]
            elif "text" in output:
                output["text"] = scrub(output["text"], hidden)
        return cell, resources
