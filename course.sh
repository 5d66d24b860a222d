#!/usr/bin/env bash
# One entry point for the course:
#   ./course.sh launch   set everything up, then open the course in JupyterLab
#   ./course.sh test     set everything up, then run the whole test suite
#   ./course.sh grade ASSIGNMENT [--workers N ...]
#                        autograde every collected submission, each in a bubblewrap sandbox
#                        (see docs/grading.md; --help lists the options)
set -euo pipefail
cd "$(dirname "$0")"
VENV=${MINIKERAS_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
    # Fashion-MNIST comes from Debian's package when we may install it (root on Debian/Ubuntu).
    if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
         (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) ||
            echo "note: could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded on first use"
    fi
    # The browser test drives Debian's Chromium (Playwright comes from PyPI; never `playwright install`).
    if [ "$1" = test ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -q chromium >/dev/null 2>&1 ||
         (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) ||
            echo "note: could not install chromium; tests/test_browser.py will skip"
    fi
}

# Graded submissions run in bubblewrap sandboxes (Debian/Ubuntu package `bubblewrap`).
ensure_bubblewrap() {
    if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -q bubblewrap >/dev/null 2>&1 ||
         (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1)) ||
            echo "note: could not install bubblewrap; grading (and its tests) need it"
    fi
}

case "${1:-}" in
    launch)
        setup "test"
        exec "$VENV/bin/jupyter" lab --notebook-dir=.
        ;;
    test)
        setup "test"
        ensure_bubblewrap
        shift
        # One BLAS/OpenMP thread per worker: two workers on two cores, no oversubscription.
        export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
        exec "$VENV/bin/python" -m pytest -n 2 "$@"
        ;;
    grade)
        setup "course"   # the course stack (nbgrader, ipykernel); no test reference needed
        ensure_bubblewrap
        shift
        # nbgrader runs `alembic` from the environment's bin/ when it creates the gradebook.
        export PATH="$(cd "$VENV/bin" && pwd):$PATH" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
        exec "$VENV/bin/python" -m minikeras.grading.run "$@"
        ;;
    *)
        echo "usage: ./course.sh launch | test [pytest args] | grade ASSIGNMENT [--workers N]" >&2
        exit 2
        ;;
esac
