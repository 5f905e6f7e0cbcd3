#!/usr/bin/env bash
# Set up (idempotent, see tools/setup.sh) and run the test suite:
#   bash tools/run_tests.sh                  # everything (what CI runs)
#   bash tools/run_tests.sh -m "not slow"    # the quick tier, for your own loop
#   bash tools/run_tests.sh tests/test_models -k contract   # any pytest arguments
#   MMTWINS_STACK=onedl bash tools/run_tests.sh              # on the OneDL forks (.venv-onedl)
# Tests run in parallel worker processes (pytest-xdist), one per core by default;
# MMTWINS_TEST_WORKERS=0 runs them in this process (e.g. for pdb).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# the suite tests deployment through mmdeploy (tests/test_tools/test_deploy.py), so the set-up
# installs it; MMTWINS_DEPLOY=0 leaves it out (those tests are then skipped, said by name)
export MMTWINS_DEPLOY="${MMTWINS_DEPLOY:-1}"
bash "$REPO/tools/setup.sh"
source "$REPO/tools/stack_env.sh"  # VENV of the stack
cd "$REPO"
printf '\n\033[1m[tests] running pytest\033[0m\n'
exec "$VENV/bin/python" -m pytest -q -n "${MMTWINS_TEST_WORKERS:-auto}" --dist worksteal "$@"
