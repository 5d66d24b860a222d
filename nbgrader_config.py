"""nbgrader configuration for the graded assignments of this course.

The instructor notebooks (solutions plus hidden tests) live in ``solutions/<assignment>/``,
with the assignment's checks and its catalogue of mistakes in ``solutions/<assignment>/grading/``;
the student versions that ``nbgrader generate_assignment`` makes from them are committed in
``exercises/<assignment>/``. Run every nbgrader command from the repository root, and grade
with ``./course.sh grade ASSIGNMENT`` (sandboxed, parallel); see docs/instructor.md and
docs/grading.md.
"""
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "minikeras-dl"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# submitted/, autograded/, feedback/ and gradebook.db keep nbgrader's default names and
# are created next to this file; they hold student data and stay out of version control.
# `grading/` (each assignment's checks and catalogue) is neither released nor copied into
# the folders of graded submissions.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading"]

# Per-cell limit for student code. The slowest cell, the Fashion-MNIST training of 02_mlp,
# takes a few seconds here (its own CPU budget is 120 s, measured by the grader); a cell still
# running after this is interrupted, and killed with its kernel if it ignores the interrupt.
c.Execute.timeout = 180
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = True

# Autograding: test and locked cells are restored from the gradebook, deleted test cells are
# added back, and an untouched released cell is not reported as changed (RestoreCells).
# Student code runs only under `./course.sh grade`, which executes each submission in a
# sandbox: plain `nbgrader autograde` (and formgrader's autograde button) refuse to run it.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "minikeras.grading.nbgrader_ext.RestoreCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "minikeras.grading.nbgrader_ext.RefuseUnsandboxed",
    "nbgrader.preprocessors.IgnorePattern",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback must not show the hidden tests (nbgrader#917), and an answer that merely contains
# the marker text must not break it: HideHiddenTests clears only the test cells' hidden blocks
# and the output lines that quote them.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "minikeras.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
