#!/usr/bin/env bash
# The quick start: set everything up, then train configs/upernet_twins_svt_s_ade20k.py on the
# bundled toy ADE20K (toy overrides: configs/toy/upernet_twins_svt_s_toy_ade20k.py), evaluate
# mIoU and draw predictions next to the ground truth. A few minutes on 2 CPU cores.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup.sh"
source "$REPO/tools/stack_env.sh"  # VENV of the stack (MMTWINS_STACK)
cd "$REPO"
exec "$VENV/bin/python" tools/quickstart.py "$@"
