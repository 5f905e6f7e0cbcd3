"""Short report of the environment: ``python -m mmtwins.utils.collect_env``."""
import importlib
import platform
import sys
from collections import OrderedDict


def _version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # any import failure is worth reporting, not raising
        return f'not importable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})'
    return getattr(mod, '__version__', 'unknown version')


def collect_env() -> 'OrderedDict[str, str]':
    """Versions of the stack, whether mmcv's compiled ops load, and the device."""
    env = OrderedDict()
    env['python'] = sys.version.split()[0] + f' ({platform.platform()})'
    import torch
    env['torch'] = torch.__version__ + (f' (CUDA {torch.version.cuda})' if torch.version.cuda
                                        else ' (CPU build)')
    env['mmcv'] = _version('mmcv')
    try:
        from mmcv.ops import nms  # noqa: F401
        env['mmcv ops'] = 'load'
    except Exception as exc:
        env['mmcv ops'] = f'DO NOT LOAD ({type(exc).__name__}: {str(exc)[:120]})'
    env['mmengine'] = _version('mmengine')
    env['mmdet'] = _version('mmdet')
    env['mmseg'] = _version('mmseg')
    env['numpy'] = _version('numpy')
    env['mmtwins'] = _version('mmtwins')
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        env['device'] = f'cuda x{len(names)}: ' + ', '.join(sorted(set(names)))
    else:
        env['device'] = f'cpu ({torch.get_num_threads()} threads)'
    return env


def main() -> int:
    env = collect_env()
    width = max(len(k) for k in env)
    for key, value in env.items():
        print(f'{key:<{width}} : {value}')
    broken = [k for k in ('mmcv', 'mmengine') if 'not importable' in env[k]]
    broken += ['mmcv ops'] if env['mmcv ops'] != 'load' else []
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main())
