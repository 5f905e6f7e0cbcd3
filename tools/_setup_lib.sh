# Shared by setup.sh and build_mmcv_wheel.sh (sourced, not run): their messages, and pip.
step() { printf '\n\033[1m[setup] %s\033[0m\n' "$*"; }
info() { printf '[setup] %s\n' "$*"; }
die() {
    printf '\n[setup] ERROR: %s\n' "$1" >&2
    shift || true
    for line in "$@"; do printf '[setup]        %s\n' "$line" >&2; done
    exit 1
}

# pip, minus the per-package warnings some mirrors' configurations print by the hundred
pip_quiet() {
    "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
