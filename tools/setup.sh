#!/usr/bin/env bash
# One-command set-up of mmtwins and the OpenMMLab 2.x stack.
#
#   bash tools/setup.sh                       # the original OpenMMLab stack, in .venv
#   MMTWINS_STACK=onedl bash tools/setup.sh   # the OneDL forks instead, in .venv-onedl
#
# Idempotent: a second run only checks what is there (under a minute once the mmcv wheel
# is cached). Environment knobs:
#   MMTWINS_STACK    openmmlab (default) or onedl      (see tools/stack_env.sh)
#   MMTWINS_VENV     where the virtualenv lives        (default: <repo>/.venv, .venv-onedl)
#   MMTWINS_CACHE    where built wheels are cached     (default: ~/.cache/mmtwins)
#   MMTWINS_PYTHON   interpreter for the new venv      (default: python3.11, else python3)
#   MMTWINS_TORCH    torch version to install if the venv has none (default: 2.13.0)
#   MMTWINS_JOBS     parallel compile jobs for mmcv    (default: number of cores)
#   MMTWINS_DEPLOY   1: also mmdeploy 1.3.1, for deploying whole models (docs/deployment.md;
#                    tools/run_tests.sh sets it: the suite tests deployment)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# STACK, VENV, CONSTRAINTS, MMCV_DIST, MMCV_VERSION, STACK_PACKAGES, OTHER_MMCV_DIST
source "$REPO/tools/stack_env.sh"
CACHE="${MMTWINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmtwins}"
TORCH_WANTED="${MMTWINS_TORCH:-2.13.0}"

source "$REPO/tools/_setup_lib.sh"  # step, info, die, pip_quiet

# ---------------------------------------------------------------------------------------
step "1/6 checking prerequisites"
PY_BASE="${MMTWINS_PYTHON:-}"
if [ -z "$PY_BASE" ]; then
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then PY_BASE="$cand"; break; fi
    done
fi
[ -n "$PY_BASE" ] && command -v "$PY_BASE" >/dev/null 2>&1 \
    || die "no Python interpreter found." "Install Python 3.11 (or point MMTWINS_PYTHON at one)."
# the tested versions (requirements/constraints*.txt) are those of Python 3.11; setup.cfg's
# python_requires and the README say the same (tests/test_repo/test_setup_and_docs.py)
"$PY_BASE" - <<'EOF' || die "Python 3.11 is required: the tested versions are those of 3.11 (e.g." \
    "numpy 2.4 and pandas 3.1 need >= 3.11). Point MMTWINS_PYTHON at a Python 3.11."
import sys
sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 11) else 1)
EOF
"$PY_BASE" -c "import venv, ensurepip" 2>/dev/null \
    || die "$PY_BASE has no venv/ensurepip module." \
        "On Debian/Ubuntu: apt-get install python3-venv (matching your Python version)."
info "python: $("$PY_BASE" --version 2>&1) ($(command -v "$PY_BASE"))"
info "stack: $STACK ($MMCV_DIST $MMCV_VERSION, ${STACK_PACKAGES[*]})"

# ---------------------------------------------------------------------------------------
step "2/6 virtualenv at $VENV"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import pip" >/dev/null 2>&1; then
    info "exists, reusing it"
else
    "$PY_BASE" -m venv "$VENV" || die "could not create the virtualenv at $VENV."
    info "created"
fi
PY="$VENV/bin/python"
# One stack per virtualenv: both install the modules mmcv, mmengine, mmdet and mmseg, so
# installing one over the other would leave packages that are neither.
OTHER="$("$PY" - "$OTHER_MMCV_DIST" <<'EOF'
import sys
from importlib import metadata
try:
    print(f'{sys.argv[1]} {metadata.version(sys.argv[1])}')
except metadata.PackageNotFoundError:
    pass
EOF
)"
[ -z "$OTHER" ] || die "$VENV holds the other stack ($OTHER); MMTWINS_STACK=$STACK would install" \
    "$MMCV_DIST over it. Each stack gets its own virtualenv: unset MMTWINS_VENV (defaults:" \
    ".venv for openmmlab, .venv-onedl for onedl) or point it at another directory."
PIP=(pip_quiet "$PY" -m pip --disable-pip-version-check)
# setuptools >=77 is what torch needs; <81 still ships pkg_resources, which mmcv's
# setup.py imports.
"${PIP[@]}" install -q -c "$CONSTRAINTS" "setuptools>=77,<81" wheel \
    || die "could not install setuptools/wheel into the virtualenv (is a package index reachable?)"

# ---------------------------------------------------------------------------------------
step "3/6 torch"
if "$PY" -c "import torch" >/dev/null 2>&1; then
    info "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    info "installing torch==$TORCH_WANTED (a local wheel is used when pip finds one)"
    "${PIP[@]}" install -q -c "$CONSTRAINTS" "torch==$TORCH_WANTED" numpy \
        || die "could not install torch==$TORCH_WANTED." \
            "Install a torch build yourself into $VENV (e.g. $PY -m pip install torch==<ver>)" \
            "and run this script again: an installed torch is never replaced."
fi
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
TORCH_CUDA="$("$PY" -c 'import torch; print(torch.version.cuda or "")')"
# Every later pip call is pinned to this torch so that no dependency can swap it for
# another build (e.g. a multi-GB CUDA wheel).
TORCH_PIN="$VENV/torch-pin.txt"
echo "torch==$TORCH_VERSION" > "$TORCH_PIN"
PIP_C=("${PIP[@]}" install -c "$CONSTRAINTS" -c "$TORCH_PIN")

# ---------------------------------------------------------------------------------------
step "4/6 $MMCV_DIST $MMCV_VERSION with compiled ops"
mmcv_ok() {
    "$PY" - <<EOF >/dev/null 2>&1
import sys
from importlib import metadata
from mmcv.ops import nms  # noqa: F401  (loads the compiled _ext)
sys.exit(0 if metadata.version("$MMCV_DIST") == "$MMCV_VERSION" else 1)
EOF
}
WITH_CUDA=0
if [ -n "$TORCH_CUDA" ] && command -v nvcc >/dev/null 2>&1; then WITH_CUDA=1; fi
if [ -n "$TORCH_CUDA" ]; then CUDA_TAG="cu${TORCH_CUDA//./}"; else CUDA_TAG="cpu"; fi
[ "$WITH_CUDA" = 1 ] || [ -z "$TORCH_CUDA" ] || CUDA_TAG="${CUDA_TAG}-cpuops"
PY_TAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
WHEEL_DIR="$CACHE/wheels/$MMCV_DIST-$MMCV_VERSION/torch-${TORCH_VERSION//+/_}-$CUDA_TAG-$PY_TAG"
WHEEL_GLOB="${MMCV_DIST//-/_}-$MMCV_VERSION-*.whl"

if mmcv_ok; then
    info "$MMCV_DIST $MMCV_VERSION with ops already importable"
else
    # mmcv's own runtime dependencies first (mmengine, numpy, opencv, ...).
    "${PIP_C[@]}" -q addict "${STACK_PACKAGES[0]}" numpy packaging Pillow pyyaml yapf \
        opencv-python || die "could not install mmcv's runtime dependencies."
    WHEEL="$(ls "$WHEEL_DIR"/$WHEEL_GLOB 2>/dev/null | head -n 1 || true)"
    if [ -n "$WHEEL" ]; then
        info "using the cached wheel $WHEEL"
    else
        # the build (15-30 minutes on 2 cores), with its compiler fix and progress lines
        PY="$PY" WITH_CUDA="$WITH_CUDA" CACHE="$CACHE" CONSTRAINTS="$CONSTRAINTS" \
            bash "$REPO/tools/build_mmcv_wheel.sh" "$MMCV_DIST" "$MMCV_VERSION" "$WHEEL_DIR" \
            || die "building $MMCV_DIST $MMCV_VERSION failed (see above)."
        WHEEL="$(ls "$WHEEL_DIR"/$WHEEL_GLOB | head -n 1)"
    fi
    "${PIP_C[@]}" -q --no-deps --force-reinstall "$WHEEL" \
        || die "could not install $WHEEL."
    mmcv_ok || die "$MMCV_DIST $MMCV_VERSION is installed but its compiled ops do not load." \
        "Delete $WHEEL_DIR and run this script again to rebuild it."
fi

# ---------------------------------------------------------------------------------------
step "5/6 ${STACK_PACKAGES[*]}, openmim, mmtwins (editable, with test extras)$([ "${MMTWINS_DEPLOY:-0}" = 1 ] && echo ", mmdeploy")"
# mmtwins requires no OpenMMLab package (they are extras): the stack is named here.
"${PIP_C[@]}" -q --no-build-isolation "${STACK_PACKAGES[@]}" -e "$REPO[tests]" \
    || die "could not install mmtwins and its dependencies (see pip's message above)."
# openmim (for `mim train mmtwins ...`) without its declared dependency opendatalab, which
# pulls openxlab and that pins setuptools ~=60.2 (torch needs >= 77); mim never imports it.
if ! "$PY" -c "import mim" >/dev/null 2>&1; then
    # (its dependencies first: pip then has no missing requirement to complain about)
    "${PIP_C[@]}" -q -r "$REPO/requirements/mim.txt" \
        && "${PIP_C[@]}" -q --no-deps openmim \
        || die "could not install openmim (see pip's message above)."
fi
# mmdeploy (MMTWINS_DEPLOY=1): its real needs from requirements/deploy.txt, then mmdeploy itself
# without its declared ones, whose protobuf<=3.20.2 pin no usable onnx accepts (the file says
# why that is safe); the version is the constraints file's.
if [ "${MMTWINS_DEPLOY:-0}" = 1 ]; then
    if "$PY" -c "import mmdeploy" >/dev/null 2>&1; then
        info "mmdeploy $("$PY" -c 'import mmdeploy; print(mmdeploy.__version__)') already installed"
    else
        "${PIP_C[@]}" -q -r "$REPO/requirements/deploy.txt" \
            && "${PIP_C[@]}" -q --no-deps mmdeploy \
            || die "could not install mmdeploy (see pip's message above)."
        info "installed mmdeploy $("$PY" -c 'import mmdeploy; print(mmdeploy.__version__)')"
    fi
fi
[ "$("$PY" -c 'import torch; print(torch.__version__)')" = "$TORCH_VERSION" ] \
    || die "torch changed during the install; this should not happen (please report it)."

# ---------------------------------------------------------------------------------------
step "6/6 environment report"
"$PY" -m mmtwins.env || die "the environment report failed: the install is broken."
info "done. Activate with: source ${VENV#"$REPO"/}/bin/activate"
