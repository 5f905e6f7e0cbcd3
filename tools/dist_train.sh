#!/usr/bin/env bash
# Distributed training with torchrun, single or multi node:
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# Environment (as in mmdet/mmseg): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (the stack's .venv if present, else python3).
# Without GPUs it runs GPUS CPU processes (gloo; SyncBN becomes BN).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/_launch.sh"
torchrun_tool train.py "$2" "$1" "${@:3}"
