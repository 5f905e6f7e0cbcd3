# Sourced by tools/setup.sh and tools/run_tests.sh: which OpenMMLab stack to set up, and where.
#   MMTWINS_STACK=openmmlab (default)  the original packages: mmengine, mmcv 2.1.0, mmdet,
#                                       mmsegmentation                       -> .venv
#   MMTWINS_STACK=onedl                 the maintained OneDL forks: onedl-mmengine,
#                                       onedl-mmcv 2.3.6, onedl-mmdetection,
#                                       onedl-mmsegmentation                 -> .venv-onedl
# Each stack has its own tested versions (requirements/constraints*.txt), its own default
# virtualenv (MMTWINS_VENV overrides it) and its own cached mmcv wheel.
REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
STACK="${MMTWINS_STACK:-openmmlab}"
case "$STACK" in
    openmmlab)
        DEFAULT_VENV="$REPO/.venv"
        CONSTRAINTS="$REPO/requirements/constraints.txt"
        MMCV_DIST="mmcv"
        MMCV_VERSION="2.1.0"
        STACK_PACKAGES=(mmengine mmdet mmsegmentation)
        OTHER_MMCV_DIST="onedl-mmcv"
        ;;
    onedl)
        DEFAULT_VENV="$REPO/.venv-onedl"
        CONSTRAINTS="$REPO/requirements/constraints-onedl.txt"
        MMCV_DIST="onedl-mmcv"
        MMCV_VERSION="2.3.6"
        STACK_PACKAGES=(onedl-mmengine onedl-mmdetection onedl-mmsegmentation)
        OTHER_MMCV_DIST="mmcv"
        ;;
    *)
        printf '[setup] ERROR: MMTWINS_STACK=%s is not a stack mmtwins knows; use openmmlab (the\n' "$STACK" >&2
        printf '[setup]        default: mmengine, mmcv, mmdet, mmsegmentation) or onedl (the OneDL forks).\n' >&2
        exit 2
        ;;
esac
VENV="${MMTWINS_VENV:-$DEFAULT_VENV}"
