"""The pieces of nbgrader this course configures (see ``nbgrader_config.py``).

* :class:`RestoreCells` is nbgrader's ``OverwriteCells`` (locked and test cells are put back
  from the gradebook, missing test cells added back) without the false alarm: nbgrader
  stores the checksum of a test cell *with* its hidden tests, and the released cell never
  has them, so every untouched submission logged one "checksum has changed!" warning per
  test cell. Here a cell that equals its released version is restored silently; only a
  cell the student really changed is reported.
* :class:`RefuseUnsandboxed` takes the place of nbgrader's ``Execute`` in plain
  ``nbgrader autograde``: submissions are run only by ``./course.sh grade``, in a sandbox.
"""
from nbconvert.preprocessors import Preprocessor
from nbgrader import utils
from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def released_source(source):
    """``source`` as generate_assignment releases it: without its hidden-test block."""
    out, inside = [], False
    for line in source.split("\n"):
        if BEGIN in line and not inside:
            inside = True
        elif END in line and inside:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


class RestoreCells(OverwriteCells):
    """``changed`` and ``added`` list the cells a student really edited or deleted (for review)."""

    add_missing_cells = Bool(True, help="Put deleted test cells back (nbgrader's default is off).").tag(config=True)

    def preprocess(self, nb, resources):
        self.changed, self.added = [], []
        return super().preprocess(nb, resources)

    def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
        self.added.append(source_cell.name)
        return super().missing_cell_transform(source_cell, max_score, is_solution, is_task)

    def preprocess_cell(self, cell, resources, cell_index):
        self._untouched = False
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
                self._untouched = cell.source.strip() in (released_source(source_cell.source).strip(),
                                                          source_cell.source.strip())
            except Exception:  # noqa: BLE001 (nbgrader reports missing cells itself)
                pass
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and getattr(self, "_untouched", False):
            self.log.debug("Cell %s is the released version; its hidden tests are put back.", name)
            return
        self.changed.append(name)
        super().report_change(name, attr, old, new)


class RefuseUnsandboxed(Preprocessor):
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        raise RuntimeError("This course grades submissions only in a sandbox: run "
                           "`./course.sh grade ASSIGNMENT` (python -m minikeras.grading.run) "
                           "instead of `nbgrader autograde`.")
