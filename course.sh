#!/usr/bin/env bash
# One entry point for the course:
#   ./course.sh launch     [jupyter args]  the student's JupyterLab: notebooks and released exercises
#   ./course.sh instructor [jupyter args]  the instructor's JupyterLab: the whole repository, formgrader
#   ./course.sh test       [pytest args]   the whole test suite
#   ./course.sh grade ASSIGNMENT [--workers N ...]  autograde every collected submission,
#                          each in bubblewrap sandboxes (docs/grading.md; --help lists options)
# Each command first makes sure the environment has what it needs: launch and instructor the
# course extra (.[course]), test also the test extra (.[test]: pytest, Keras, PyTorch CPU,
# Playwright). Extra arguments go to JupyterLab or pytest unchanged.
#
# Settings (environment variables):
#   MINIKERAS_VENV        the environment to use (default .venv, created when missing)
#   MINIKERAS_NO_SETUP=1  use that environment as it is and install nothing (e.g. a conda env:
#                         MINIKERAS_VENV=$CONDA_PREFIX MINIKERAS_NO_SETUP=1 ./course.sh launch)
#   MINIKERAS_WORKSPACE   the student's own folder (default workspace/, see student_workspace)
#   MINIKERAS_TORCH_CPU_INDEX  where PyTorch's CPU wheels come from when pip would pick CUDA
#   PYTHON                the Python that creates the venv (default python3, 3.11 or newer)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=${MINIKERAS_VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_CPU_INDEX=${MINIKERAS_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

note() { echo "course.sh: $*" >&2; }

# ------------------------------------------------------------------------------- setup
# setup EXTRA: create the venv if needed and install the project with that extra ("course" or
# "test"). A stamp in the venv remembers what was installed from which pyproject.toml, so a
# second launch starts at once.
setup() {
    local extra=$1 stamp
    if [ "${MINIKERAS_NO_SETUP:-}" = 1 ]; then
        [ -x "$VENV/bin/python" ] || { note "MINIKERAS_NO_SETUP=1 but $VENV/bin/python does not exist"; exit 2; }
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
            { note "Python 3.11 or newer is needed ($PY is $("$PY" -V 2>&1)); set PYTHON=python3.11"; exit 2; }
        "$PY" -m venv "$VENV"
    fi
    stamp="$VENV/.minikeras-$extra"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(project_hash)" ]; then
        return
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    if [ "$extra" = test ]; then
        cpu_torch
    fi
    "$VENV/bin/python" -m pip install --quiet -e ".[$extra]"
    system_packages "$extra"
    project_hash >"$stamp"
    if [ "$extra" = test ]; then
        project_hash >"$VENV/.minikeras-course"   # test includes the course extra
    fi
}

project_hash() {
    cksum <pyproject.toml
}

# PyPI's Linux torch wheels are CUDA builds that pull several GB of nvidia-* packages, and the
# tests need only the CPU build. Ask pip what it would install; when that is a CUDA build, take
# the same version from PyTorch's CPU index. Where pip already finds a CPU build (a local wheel
# cache, macOS, a CPU-only mirror) nothing changes. If the CPU index cannot be reached, pip's
# default build is installed (it runs on the CPU too, just larger), with a note.
cpu_torch() {
    local req report
    if "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
        return
    fi
    req=$("$VENV/bin/python" - <<'EOF'
import tomllib
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
print(next(r for r in extras["test"] if r.replace(" ", "").startswith("torch")).split(";")[0].strip())
EOF
)
    report=$(mktemp)
    if "$VENV/bin/python" -m pip install --quiet --dry-run --ignore-installed --report "$report" "$req" >/dev/null 2>&1 &&
        "$VENV/bin/python" - "$report" <<'EOF'
import json, sys
names = [item["metadata"]["name"].lower() for item in json.load(open(sys.argv[1]))["install"]]
sys.exit(0 if any(n.startswith(("nvidia-", "triton", "cuda-")) for n in names) else 1)
EOF
    then
        local cpu_req=$req
        case $req in *==*) case $req in *+*) ;; *) cpu_req="$req+cpu" ;; esac ;; esac
        note "pip would install the CUDA build of $req; installing $cpu_req from $TORCH_CPU_INDEX"
        "$VENV/bin/python" -m pip install --quiet --extra-index-url "$TORCH_CPU_INDEX" "$cpu_req" ||
            note "PyTorch's CPU index could not be used; pip's default torch (the CUDA build, a few GB more) will be installed instead. The tests still run on the CPU."
    fi
    rm -f "$report"
}

# Debian/Ubuntu packages, when we may install them (root with apt-get): Fashion-MNIST from
# dataset-fashion-mnist for everyone, Chromium for the browser test. Playwright comes from
# PyPI and drives that Chromium; `playwright install` (a download outside the registries) is
# never run.
system_packages() {
    command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 0
    if [ ! -d /usr/share/datasets/fashion-mnist ]; then
        apt_install dataset-fashion-mnist ||
            note "could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded on first use"
    fi
    # Chapter 4's offline text example reads the topic files of Debian's fortunes package.
    if [ ! -d /usr/share/games/fortunes ]; then
        apt_install fortunes || note "could not install fortunes; 04_rnn needs it (or IMDB) for its text section"
    fi
    if [ "$1" = test ] && ! command -v chromium >/dev/null 2>&1; then
        apt_install chromium || note "could not install chromium; tests/test_browser.py will skip"
    fi
    # Graded submissions run in bubblewrap sandboxes (./course.sh grade and its tests).
    if ! command -v bwrap >/dev/null 2>&1; then
        apt_install bubblewrap || note "could not install bubblewrap; grading (and its tests) need it"
    fi
}

apt_install() {
    apt-get install -y -q "$@" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1; }
}

# ------------------------------------------------------------------------------- JupyterLab
# The student's folder: copies of notebooks/ and exercises/ (nbgrader's release folder), and
# nothing else from the repository, so solutions/ is not in the tree JupyterLab serves.
# Files are copied when missing; a student's edited copy is never overwritten (when the
# course version is newer, a note says so: delete the copy to get the new one).
student_workspace() {
    local ws=$1 src dest newer=()
    mkdir -p "$ws"
    while IFS= read -r -d '' src; do
        dest="$ws/$src"
        if [ ! -e "$dest" ]; then
            mkdir -p "$(dirname "$dest")"
            cp "$src" "$dest"
        elif [ "$src" -nt "$dest" ] && ! cmp -s "$src" "$dest"; then
            newer+=("$src")
        fi
    done < <(find notebooks exercises -type f ! -path '*/.ipynb_checkpoints/*' ! -path '*/__pycache__/*' -print0 | sort -z)
    if [ ${#newer[@]} -gt 0 ]; then
        note "the course has newer versions of: ${newer[*]}; your copies in $ws are kept (delete one to get the new version)"
    fi
}

# nbgrader's student side only: the assignment list and "Validate" stay; formgrader, the
# course list and the "Create Assignment" panel are switched off, on the server and in the UI.
student_jupyter_config() {
    local dir=$1
    mkdir -p "$dir/labconfig"
    cat >"$dir/jupyter_server_config.json" <<'EOF'
{
  "ServerApp": {
    "jpserver_extensions": {
      "nbgrader.server_extensions.formgrader": false,
      "nbgrader.server_extensions.course_list": false
    }
  }
}
EOF
    cat >"$dir/labconfig/page_config.json" <<'EOF'
{
  "disabledExtensions": {
    "@jupyter/nbgrader:formgrader": true,
    "@jupyter/nbgrader:create-assignment": true,
    "@jupyter/nbgrader:course-list": true
  }
}
EOF
}

# jupyter_lab DIR [args]: JupyterLab serving DIR; --allow-root where containers and cloud
# notebooks run us as root; every other argument goes through.
jupyter_lab() {
    local dir=$1
    shift
    local args=(lab "--ServerApp.root_dir=$dir")
    if [ "$(id -u)" = 0 ]; then
        args+=(--allow-root)
    fi
    exec "$VENV/bin/jupyter" "${args[@]}" "$@"
}

launch() {
    setup course
    local ws=${MINIKERAS_WORKSPACE:-workspace}
    student_workspace "$ws"
    ws=$(cd "$ws" && pwd)
    student_jupyter_config "$ws/.course-config"
    export JUPYTER_CONFIG_PATH="$ws/.course-config${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
    cd "$ws"   # nbgrader reads nbgrader_config.py from here: the student has none
    jupyter_lab "$ws" "$@"
}

instructor() {
    setup course
    jupyter_lab "$ROOT" "$@"   # from the root, so nbgrader finds nbgrader_config.py
}

# ------------------------------------------------------------------------------- tests
run_tests() {
    setup test
    # One BLAS/OpenMP thread per worker: two workers on two cores, no oversubscription.
    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    exec "$VENV/bin/python" -m pytest -n 2 "$@"
}

# ------------------------------------------------------------------------------- grading
grade() {
    setup course   # the course stack (nbgrader, ipykernel); no test reference needed
    # nbgrader runs `alembic` from the environment's bin/ when it creates the gradebook.
    export PATH="$VENV/bin:$PATH" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    exec "$VENV/bin/python" -m minikeras.grading.run "$@"
}

# ------------------------------------------------------------------------------- commands
command=${1:-}
[ $# -gt 0 ] && shift
VENV=$(mkdir -p "$(dirname "$VENV")" && cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")
case "$command" in
    launch) launch "$@" ;;
    instructor) instructor "$@" ;;
    test) run_tests "$@" ;;
    grade) grade "$@" ;;
    *)
        echo "usage: ./course.sh launch [jupyter args] | instructor [jupyter args] | test [pytest args] | grade ASSIGNMENT [--workers N]" >&2
        exit 2
        ;;
esac
