"""The part of the grader that runs *inside* a student's sandbox.

Everything in this package imports only the standard library and NumPy (``replay`` also
IPython), so the library-free sandbox can load it as a top-level package (``judge_runtime``)
while minikeras itself is absent there. Nothing here decides a grade: it only calls the
student's functions on the judge's inputs and writes what came back (see docs/grading.md).
"""
