#!/usr/bin/env bash
# Distributed testing with torchrun, single or multi node:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# Environment (as in mmdet/mmseg): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (the stack's .venv if present, else python3).
# Without GPUs it runs GPUS CPU processes (gloo; SyncBN becomes BN).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
torchrun_tool test.py "$3" "$1" "$2" "${@:4}"
