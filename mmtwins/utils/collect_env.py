"""Short report of the environment: ``python -m mmtwins.utils.collect_env``."""
import importlib
import importlib.util
import platform
import sys
from collections import OrderedDict


def _version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # any import failure is worth reporting, not raising
        return f'not importable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})'
    return getattr(mod, '__version__', 'unknown version')


def _dist_version(name: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(name)  # without importing it (mim imports pkg_resources)
    except metadata.PackageNotFoundError:
        return 'not installed'


def _installed_by_pip():
    """mmtwins' dist-info written by pip (a source tree's mmtwins.egg-info, found when Python
    runs from the checkout, is not an install)."""
    from importlib import metadata
    for dist in metadata.distributions(name='mmtwins'):
        if dist.read_text('INSTALLER') or dist.read_text('direct_url.json'):
            return dist
    return None


def _editable() -> bool:
    """Whether mmtwins is an editable (PEP 660) install, from its PEP 610 direct_url.json."""
    import json
    dist = _installed_by_pip()
    direct_url = json.loads((dist and dist.read_text('direct_url.json')) or '{}')
    return bool(direct_url.get('dir_info', {}).get('editable'))


def _install_kind() -> str:
    if _installed_by_pip() is None:
        return ' (not installed: imported from a source tree)'
    return ' (editable install)' if _editable() else ''


def _startup_hook_installed() -> bool:
    """Whether mmtwins-startup.pth ran in this interpreter (see mmtwins/startup_hook.py)."""
    return '_mmtwins_startup' in sys.modules


def collect_env() -> 'OrderedDict[str, str]':
    """Versions of the stack, whether mmcv's compiled ops load, and the device."""
    env = OrderedDict()
    env['python'] = sys.version.split()[0] + f' ({platform.platform()})'
    import torch
    env['torch'] = torch.__version__ + (f' (CUDA {torch.version.cuda})' if torch.version.cuda
                                        else ' (CPU build)')
    from ..stack_check import describe
    env['stack'] = describe()
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
    env['mmtwins'] = _version('mmtwins') + _install_kind()
    env['mmtwins:: hook'] = ('installed (configs may inherit mmtwins:: without import mmtwins)'
                             if _startup_hook_installed() else
                             'not installed (import mmtwins before loading mmtwins:: configs)')
    env['mmengine checkpoints'] = _mmengine_checkpoints()
    env['checkpoint loaders'] = _checkpoint_loaders()
    env['openmim'] = _dist_version('openmim')
    env['mmdeploy'] = _mmdeploy()
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        env['device'] = f'cuda x{len(names)}: ' + ', '.join(sorted(set(names)))
    else:
        env['device'] = f'cpu ({torch.get_num_threads()} threads)'
    from .cpu import cpu_bf16
    env['cpu bf16'] = cpu_bf16()[1]
    return env


def _mmengine_checkpoints() -> str:
    """Whether torch's weights-only loading accepts what mmengine checkpoints hold."""
    import torch
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
    except Exception:
        return 'mmengine not importable'
    if HistoryBuffer in torch.serialization.get_safe_globals():
        return ('readable with weights_only=True: importing mmtwins (our configs do) registers '
                'exactly what they hold with torch.serialization.add_safe_globals')
    return ('NOT readable with weights_only=True (import mmtwins, or call '
            'mmtwins.checkpoint.allow_mmengine_checkpoints())')


def _checkpoint_loaders() -> str:
    """Whether every scheme of mmengine's CheckpointLoader reads with mmtwins' safe reader."""
    try:
        import mmtwins  # noqa: F401  (registers them)
        from ..checkpoint.schemes import unsafe_schemes
        unsafe = unsafe_schemes()
    except Exception as exc:
        return f'unknown ({type(exc).__name__}: {str(exc)[:120]})'
    if unsafe:
        return f'NOT safe for {", ".join(map(repr, unsafe))} (not replaced by mmtwins)'
    return ('safe for every scheme (local files, http(s) URLs, open-mmlab://, torchvision://, '
            'mmcls://, pavi://, s3://): weights_only=True with mmtwins\' allow-list')


def _mmdeploy() -> str:
    """mmdeploy's version and the fixes mmtwins registers with it (or why none)."""
    if importlib.util.find_spec('mmdeploy') is None:
        return 'not installed (MMTWINS_DEPLOY=1 bash tools/setup.sh installs it)'
    try:
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import mmdeploy

            from ..deployment.mmdeploy_support import register
            names = register()
        note = ''.join(f'; WARNING: {w.message}' for w in caught
                       if 'mmdeploy_support' in str(w.message))
        return f'{mmdeploy.__version__} (mmtwins registers: {", ".join(names)}){note}'
    except Exception as exc:
        return f'NOT usable ({type(exc).__name__}: {str(exc)[:160]})'


def known_issues(env) -> list:
    """Known incompatibilities of this environment, each with what to do."""
    from ..stack_check import duplicates, stack_name

    # only what applies to the installed stack: the hosts' own import checks (e.g. mmdet 3.3's
    # mmcv range; the OneDL forks have none) show up as 'not importable', with their reason
    issues = duplicates()
    if env.get('checkpoint loaders', '').startswith('NOT safe'):
        issues.append(f"mmengine's checkpoint loaders are {env['checkpoint loaders']}: a "
                      'checkpoint named with such a prefix could run code when read. Report it '
                      'to mmtwins; until then, download such files yourself and pass local paths.')
    setup = ('bash tools/setup.sh' if stack_name() != 'OneDL' else
             'MMTWINS_STACK=onedl bash tools/setup.sh')
    if env['mmcv ops'] != 'load':
        issues.append('mmcv is installed without working compiled ops (nms, RoIAlign): detectors '
                      f'will fail. Delete ~/.cache/mmtwins/wheels and run {setup} to '
                      'rebuild mmcv for this torch.')
    for lib in ('mmdet', 'mmseg'):
        if 'not importable' in env[lib]:
            issues.append(f'{lib} {env[lib]}: {lib} configs cannot run. '
                          f'{setup} installs the tested versions.')
    if env.get('mmdeploy', '').startswith('NOT usable') or 'WARNING' in env.get('mmdeploy', ''):
        issues.append(f"mmdeploy: {env['mmdeploy']}. Deploying whole models is tested with "
                      f'mmdeploy 1.3.1: {setup.replace("bash", "MMTWINS_DEPLOY=1 bash")} '
                      f'installs it.')
    if env.get('openmim', 'not installed') != 'not installed' and _editable():
        issues.append('openmim is installed and mmtwins is an editable install: mim 0.3.9 looks '
                      'for configs and tools next to the dist-info in site-packages, so '
                      '"mim train mmtwins" does not find them. In a checkout use tools/train.py '
                      'or mmtwins-train; mim works with a regular install (pip install .).')
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # its deprecation notice is not news here
            import pkg_resources  # noqa: F401  (mmengine and mmcv's setup.py import it)
    except ImportError:
        issues.append('setuptools >= 81 has no pkg_resources, which mmengine needs to find '
                      'mmdet::/mmseg:: configs: pip install "setuptools>=77,<81".')
    try:
        if importlib.util.find_spec('torchvision') is not None:
            import torchvision  # noqa: F401
    except Exception as exc:
        issues.append(f'torchvision is installed but broken ({type(exc).__name__}); mmtwins does '
                      f'not need it, but some mmdet code paths try it: pip uninstall torchvision.')
    if 'cpu bf16' in env and not env['cpu bf16'].startswith('native') and \
            not env.get('device', '').startswith('cuda'):
        issues.append(f"CPU bf16 is {env['cpu bf16']}; --amp on this machine: expect no "
                      f'speed-up; use fp32.')
    return issues


def main() -> int:
    env = collect_env()
    width = max(len(k) for k in env)
    for key, value in env.items():
        print(f'{key:<{width}} : {value}')
    issues = known_issues(env)
    print('known issues: ' + ('none' if not issues else ''))
    for issue in issues:
        print(f'  - {issue}')
    broken = [k for k in ('mmcv', 'mmengine') if 'not importable' in env[k]]
    broken += ['mmcv ops'] if env['mmcv ops'] != 'load' else []
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main())
