#!/usr/bin/env bash
# Set up (idempotent, see tools/setup.sh) and run the test suite:
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup.sh"
VENV="${MMTWINS_VENV:-$REPO/.venv}"
cd "$REPO"
printf '\n\033[1m[tests] running pytest\033[0m\n'
exec "$VENV/bin/python" -m pytest -q "$@"
