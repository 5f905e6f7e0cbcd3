"""Running GPU recipes where there is no GPU: norms, process groups and DDP on the CPU."""
import os
import subprocess
from typing import Any

import torch
from mmengine.config import Config

from ..errors import ConfigError


def replace_norm_type(node: Any, old: str, new: str) -> int:
    """Replace ``type=old`` by ``type=new`` in every norm config dict below ``node``."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == old:
            node['type'] = new
            count += 1
        for value in node.values():
            count += replace_norm_type(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += replace_norm_type(value, old, new)
    return count


def adapt_to_device(cfg: Config, launcher: str) -> None:
    """Make a GPU recipe run on the CPU when there is no GPU.

    SyncBN becomes BN (SyncBN needs GPUs across processes), the process group uses gloo,
    and DDP wraps the CPU model without ``device_ids``.
    """
    if torch.cuda.is_available():
        return
    if replace_norm_type(cfg.model, 'SyncBN', 'BN'):
        print('[mmtwins] no GPU: SyncBN -> BN', flush=True)
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg['cudnn_benchmark'] = False
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if launcher == 'none':
        return
    init_cpu_process_group(launcher)
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))


def init_cpu_process_group(launcher: str) -> None:
    """mmengine's ``init_dist`` selects a CUDA device; on CPU we start gloo ourselves."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    if launcher == 'slurm':
        rank, world = int(os.environ['SLURM_PROCID']), int(os.environ['SLURM_NTASKS'])
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
            out = subprocess.run(['scontrol', 'show', 'hostname', nodes], capture_output=True,
                                 text=True)
            os.environ['MASTER_ADDR'] = (out.stdout.split() or ['127.0.0.1'])[0]
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world),
                          LOCAL_RANK=os.environ.get('SLURM_LOCALID', '0'))
    elif launcher != 'pytorch':
        raise ConfigError(f'launcher {launcher!r} needs GPUs; use pytorch or slurm on CPU')
    dist.init_process_group(backend='gloo')
