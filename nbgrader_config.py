"""nbgrader configuration for the graded assignments of this course.

The instructor notebooks (solutions plus hidden tests) live in ``solutions/<assignment>/``
and the student versions that ``nbgrader generate_assignment`` makes from them are
committed in ``exercises/<assignment>/``. Run every nbgrader command from the repository
root; see docs/instructor.md.
"""
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "minikeras-dl"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# submitted/, autograded/, feedback/ and gradebook.db keep nbgrader's default names and
# are created next to this file; they hold student work and stay out of version control.

# Per-cell limit while validating and autograding. The slowest cell, the Fashion-MNIST
# training of 02_mlp, takes a few seconds here and is allowed 120 s by its own test;
# anything still running after this is interrupted and that cell scores 0.
c.Execute.timeout = 180
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = True

# Feedback must not show the hidden tests (nbgrader#917): strip them from the cells and
# from the tracebacks that quote them. The hidden blocks only call minikeras.grading, whose
# messages say what was wrong without giving the inputs away.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "minikeras.grading.feedback.ClearHiddenTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
