#!/usr/bin/env bash
# Build a wheel of mmcv (or onedl-mmcv) with compiled ops for the torch of a virtualenv, as
# tools/setup.sh needs it when no cached wheel fits:
#
#   PY=.venv/bin/python bash tools/build_mmcv_wheel.sh mmcv 2.1.0 WHEEL_DIR
#
# Downloads the source distribution, raises its C++ standard to C++20 (torch >= 2.10's
# headers need it; mmcv 2.1.0 and onedl-mmcv 2.3.6 ask for C++17), builds without build
# isolation against the installed torch, prints progress every 30 s and leaves the wheel in
# WHEEL_DIR. Environment: PY (the virtualenv's python, with torch), WITH_CUDA (1: CUDA ops
# too; default 0), CACHE (logs under CACHE/logs; default ~/.cache/mmtwins), CONSTRAINTS (a
# pip constraints file for its build tools), MMTWINS_JOBS (parallel compile jobs; default the
# number of cores).
set -euo pipefail
if [ $# -ne 3 ] || [ -z "${PY:-}" ]; then
    echo "usage: PY=VENV/bin/python $0 DIST VERSION WHEEL_DIR" >&2
    exit 2
fi
MMCV_DIST=$1 MMCV_VERSION=$2 WHEEL_DIR=$3
# absolute: the build runs inside the unpacked source
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
mkdir -p "$WHEEL_DIR"
WHEEL_DIR="$(cd "$WHEEL_DIR" && pwd)"
WITH_CUDA="${WITH_CUDA:-0}"
CACHE="${CACHE:-${MMTWINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmtwins}}"

source "$(dirname "${BASH_SOURCE[0]}")/_setup_lib.sh"  # info, die, pip_quiet
PIP=(pip_quiet "$PY" -m pip --disable-pip-version-check)
PIP_INSTALL=("${PIP[@]}" install)
[ -z "${CONSTRAINTS:-}" ] || PIP_INSTALL+=(-c "$CONSTRAINTS")
WHEEL_GLOB="${MMCV_DIST//-/_}-$MMCV_VERSION-*.whl"

command -v "${CXX:-g++}" >/dev/null 2>&1 \
    || die "no C++ compiler found; mmcv's ops must be compiled for this torch." \
        "On Debian/Ubuntu: apt-get install build-essential"
"$PY" -c "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)" \
    || die "the Python development headers (Python.h) are missing." \
        "On Debian/Ubuntu: apt-get install python3-dev (matching your Python version)."
"${PIP_INSTALL[@]}" -q ninja psutil || info "ninja unavailable; compiling without it (slower)"
BUILD="$(mktemp -d "${TMPDIR:-/tmp}/mmcv-build.XXXXXX")"
LOG="$CACHE/logs/$MMCV_DIST-$MMCV_VERSION-build-$(date +%Y%m%d-%H%M%S).log"
mkdir -p "$(dirname "$LOG")" "$WHEEL_DIR"
info "no compatible $MMCV_DIST wheel: building it from source (CUDA ops: $WITH_CUDA)."
info "this takes 15-30 minutes on 2 cores; the wheel is then cached in"
info "  $WHEEL_DIR"
info "full compiler log: $LOG"
"${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$BUILD" "$MMCV_DIST==$MMCV_VERSION" >>"$LOG" 2>&1 \
    || die "could not download the $MMCV_DIST $MMCV_VERSION source distribution (see $LOG)."
tar -xzf "$BUILD"/*.tar.gz -C "$BUILD"
SRC="$(find "$BUILD" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
# torch >= 2.10 headers need C++20; mmcv 2.1.0 and onedl-mmcv 2.3.6 ask for C++17.
sed -i 's/c++17/c++20/g' "$SRC/setup.py"
TOTAL="$(cd "$SRC" && ls mmcv/ops/csrc/pytorch/*.cpp mmcv/ops/csrc/pytorch/cpu/*.cpp 2>/dev/null | wc -l)"
if [ "$WITH_CUDA" = 1 ]; then
    TOTAL=$((TOTAL + $(cd "$SRC" && ls mmcv/ops/csrc/pytorch/cuda/*.cu 2>/dev/null | wc -l)))
fi
(
    cd "$SRC"
    export MMCV_WITH_OPS=1 MAX_JOBS="${MMTWINS_JOBS:-$(nproc)}" FORCE_CUDA="$WITH_CUDA"
    # mmcv's setup.py compiles CUDA ops whenever it sees a GPU; without nvcc that
    # fails, so hide the GPU for a CPU-ops build.
    [ "$WITH_CUDA" = 1 ] || export CUDA_VISIBLE_DEVICES=""
    "${PIP[@]}" wheel -v --no-build-isolation --no-deps -w "$WHEEL_DIR" . >>"$LOG" 2>&1
) &
BUILD_PID=$!
START=$(date +%s)
while kill -0 "$BUILD_PID" 2>/dev/null; do
    sleep 30
    kill -0 "$BUILD_PID" 2>/dev/null || break
    # ninja prints "[done/total]"; without ninja, count the object files.
    PROGRESS="$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$LOG" | tail -n 1 | tr -d ' []' || true)"
    [ -n "$PROGRESS" ] || PROGRESS="~$(find "$SRC/build" -name '*.o' 2>/dev/null | wc -l)/$TOTAL"
    ELAPSED=$(( $(date +%s) - START ))
    info "building $MMCV_DIST: $((ELAPSED / 60))m$((ELAPSED % 60))s elapsed, $PROGRESS sources compiled"
done
if ! wait "$BUILD_PID"; then
    echo "----- last lines of the build log -----" >&2
    grep -E "error|Error" "$LOG" | tail -n 15 >&2 || tail -n 15 "$LOG" >&2
    die "building $MMCV_DIST $MMCV_VERSION failed (full log: $LOG)." \
        "Check that g++ (>= 10, for C++20) and the Python headers are installed."
fi
rm -rf "$BUILD"
WHEEL="$(ls "$WHEEL_DIR"/$WHEEL_GLOB | head -n 1)"
info "built and cached $WHEEL in $(( ($(date +%s) - START) / 60 )) min"
