# Shared by dist_*.sh and slurm_*.sh (sourced, not run): the interpreter and the import path.
# PYTHON: as given, else the virtualenv tools/setup.sh made for MMTWINS_STACK (.venv by default,
# .venv-onedl for the OneDL forks) if present, else python3.
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${PYTHON:-}" ]; then
    source "$TOOLS/stack_env.sh"  # VENV
    if [ -x "$VENV/bin/python" ]; then PYTHON="$VENV/bin/python"; else PYTHON=python3; fi
fi
export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"

# torchrun_tool SCRIPT NPROC ARGS...: run tools/SCRIPT on NPROC processes of this node
# (NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment).
torchrun_tool() {
    local script=$1 nproc=$2
    shift 2
    exec "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" "$TOOLS/$script" "$@" --launcher pytorch
}

# srun_tool PARTITION JOB_NAME SCRIPT ARGS...: run tools/SCRIPT as one Slurm task per GPU
# (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS from the environment).
srun_tool() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    # shellcheck disable=SC2086  # SRUN_ARGS is a list of arguments
    exec srun -p "$partition" --job-name="$job_name" --gres=gpu:"${GPUS_PER_NODE:-8}" \
        --ntasks="${GPUS:-8}" --ntasks-per-node="${GPUS_PER_NODE:-8}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
        "$PYTHON" -u "$TOOLS/$script" "$@" --launcher=slurm
}
