"""The one place where mmtwins changes mmengine's code: ``mmtwins::`` in a config's ``_base_`` (and
quick answers for the hosts' ``pkg::`` paths).

    _base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']

resolves to mmtwins' shipped configs: ``<package>/.mim/configs`` in an installed wheel (as
OpenMMLab packages ship them), or ``configs/`` next to the package in a source checkout or
editable install.

Why a patch: mmengine resolves ``pkg::path`` only for the OpenMMLab packages of its own
table (``MODULE2PACKAGE``), by the installed *distribution* of that name and its
``.mim/configs``, and wants ``pkg::dir/file``; it offers no registry or hook for config
locations, and it parses ``_base_`` before a config's ``custom_imports`` run. So we wrap its
private ``Config._get_cfg_path`` (present, with the signature ``(cfg_path, filename)``, in the
mmengine versions of :data:`MMENGINE_VERSIONS`): a path starting with ``mmtwins::`` is
answered by :func:`resolve`; ``mmdet::``/``mmseg::``... paths whose file is in the host's
``.mim/configs`` are answered directly by :func:`host_config` (the file mmengine finds, without
parsing every metafile of the host on each lookup: 0.1-0.4 s a path, 1-2 s a config); everything
else goes to mmengine's own function unchanged. Where the hosts are installed under other
distribution names (the OneDL forks), :func:`adopt_renamed_distributions` points mmengine's
table at them, so that its own lookup finds them too.

It is installed two ways:

* ``import mmtwins`` installs it (``mmtwins/config_paths.py``), strictly: outside the tested
  mmengine versions it warns, and if mmengine's function is not there it raises ImportError.
* Installing mmtwins (wheel or editable) puts a copy of this file in site-packages as
  ``_mmtwins_startup.py``, with ``mmtwins-startup.pth`` calling :func:`install` when Python
  starts (see setup.py): a meta-path watcher installs the resolver right after mmengine's
  config module is loaded, so ``mmtwins::`` also works in scripts that never import mmtwins
  (``Config.fromfile``, ``mmdet.apis.init_detector``, the hosts' own tools). This copy uses
  the standard library only, imports nothing else, and never raises at start-up (it prints
  one line to stderr when it cannot apply). Remove ``mmtwins-startup.pth`` from
  site-packages to switch it off.
"""
import difflib
import importlib.util
import os
import os.path as osp
import re
import sys

PREFIX = 'mmtwins::'
TARGET = 'mmengine.config.config'
#: mmengine versions whose private ``Config._get_cfg_path`` this was written for: [min, max)
MMENGINE_VERSIONS = ((0, 7, 0), (0, 11, 0))
_MARK = '_mmtwins_resolver'


def configs_dir() -> str:
    """Where the shipped configs are: the wheel's ``.mim/configs`` or the checkout's
    (found without importing mmtwins)."""
    spec = importlib.util.find_spec('mmtwins')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('the mmtwins package is not installed in this Python, so '
                                f'{PREFIX} configs cannot be found; pip install mmtwins')
    package_dir = list(spec.submodule_search_locations)[0]
    for candidate in (osp.join(package_dir, '.mim', 'configs'),
                      osp.join(osp.dirname(package_dir), 'configs')):
        if osp.isdir(candidate):
            return candidate
    raise FileNotFoundError(
        f'{PREFIX} configs not found next to the mmtwins package at {package_dir} (no '
        f'.mim/configs and no ../configs): the install is incomplete. Reinstall mmtwins (pip '
        f'install mmtwins, or bash tools/setup.sh in a checkout) and check it with '
        f'python -m mmtwins.env.')


def resolve(name: str) -> str:
    """Absolute path of the shipped config ``name`` (e.g. ``'upernet_twins_svt_s_ade20k.py'``
    or ``'_base_/models/upernet_twins.py'``)."""
    root = configs_dir()
    path = osp.join(root, name)
    if osp.isfile(path):
        return path
    shipped = sorted(os.listdir(root))
    close = difflib.get_close_matches(osp.basename(name), shipped, n=3, cutoff=0.5)
    hint = (' Did you mean ' + ', '.join(PREFIX + c for c in close) + '?') if close else \
        f' The shipped configs are in {root}.'
    raise FileNotFoundError(f'{PREFIX}{name}: no such mmtwins config.{hint}')


def host_config(cfg_path: str):
    """``(path, scope)`` of ``pkg::rel`` when ``rel`` is a file in the installed OpenMMLab
    package's ``.mim/configs``, else None (mmengine's own lookup then decides). mmengine looks a
    name up in the metafiles first and falls back to ``.mim/configs/rel``; its metafiles map
    each config name to that same file, so the answer is the same."""
    scope, _, rel = cfg_path.partition('::')
    if not scope.isidentifier() or not rel or '::' in rel:
        return None
    try:
        from mmengine.config.utils import MODULE2PACKAGE
        if scope not in MODULE2PACKAGE:
            return None
        spec = importlib.util.find_spec(scope)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = osp.join(list(spec.submodule_search_locations)[0], '.mim', 'configs', rel)
    return (path, scope) if osp.isfile(path) else None


def adopt_renamed_distributions(module2package: dict) -> list:
    """Point mmengine's table of config packages (``MODULE2PACKAGE``: import name ->
    distribution) at the distribution that provides a module under another name.

    mmengine looks ``mmseg::``/``mmdet::`` up by the *distribution* ``mmsegmentation``/``mmdet``;
    the OneDL forks install the same modules as ``onedl-mmsegmentation``/``onedl-mmdetection``,
    so mmengine's own lookup says "mmsegmentation is not installed". Only entries whose module
    is importable while their distribution is not installed change, and only to the one
    distribution that provides the module. Returns the ``(module, distribution)`` pairs changed.
    """
    from importlib import metadata
    stale = []
    for module, dist in module2package.items():
        if importlib.util.find_spec(module) is None:
            continue
        try:
            metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            stale.append(module)
    if not stale:
        return []
    providers = metadata.packages_distributions()
    changed = []
    for module in stale:
        names = sorted(set(providers.get(module, ())))
        if len(names) == 1:
            module2package[module] = names[0]
            changed.append((module, names[0]))
    return changed


def version_tuple(text: str) -> tuple:
    """``'0.10.7'`` -> ``(0, 10, 7)``; ``'2.0.0rc4'`` -> ``(2, 0, 0)``; ``'2.13.0+cpu'`` ->
    ``(2, 13, 0)``."""
    return tuple(int(p) for p in re.findall(r'\d+', text.split('+')[0])[:3])


def mmengine_version():
    """The installed mmengine's version as a tuple of ints (``(0, 10, 7)``), or None."""
    try:
        from mmengine.version import __version__
    except Exception:
        return None
    return version_tuple(__version__)


def compatibility_problem(config_cls) -> str:
    """Why the resolver cannot be installed on ``config_cls`` (empty if it can)."""
    original = getattr(config_cls, '_get_cfg_path', None)
    code = getattr(original, '__code__', None)
    if original is None or code is None or code.co_argcount != 2:
        return ('mmengine.config.Config._get_cfg_path(cfg_path, filename), which mmtwins '
                f'wraps to resolve {PREFIX} paths, is not in this mmengine')
    return ''


def install_resolver(config_cls, strict: bool = True) -> bool:
    """Wrap ``config_cls._get_cfg_path`` so that ``mmtwins::`` paths resolve to our configs.

    ``strict``: outside :data:`MMENGINE_VERSIONS` warn, and raise ImportError when mmengine's
    function is missing; otherwise print one line to stderr and leave mmengine as it is.
    Returns whether the resolver is installed.
    """
    original = config_cls._get_cfg_path if hasattr(config_cls, '_get_cfg_path') else None
    if getattr(original, _MARK, False):
        return True
    problem = compatibility_problem(config_cls)
    version = mmengine_version()
    low, high = MMENGINE_VERSIONS
    if problem:
        message = (f'{problem} (mmengine {".".join(map(str, version or ()))}); mmtwins was '
                   f'written for mmengine >= {".".join(map(str, low))}, < '
                   f'{".".join(map(str, high))}. Install such an mmengine, or give configs by '
                   f'path instead of {PREFIX}.')
        if strict:
            raise ImportError(message)
        print(f'[mmtwins start-up hook] not applied: {message}', file=sys.stderr)
        return False
    if strict and version is not None and not low <= version < high:
        import warnings
        warnings.warn(f'mmtwins resolves {PREFIX} configs by wrapping mmengine\'s private '
                      f'Config._get_cfg_path, written for mmengine >= {".".join(map(str, low))},'
                      f' < {".".join(map(str, high))}; this is mmengine '
                      f'{".".join(map(str, version))}: if {PREFIX} paths fail, give configs by '
                      f'path.', RuntimeWarning, stacklevel=2)

    def _get_cfg_path(cfg_path, filename):
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            return resolve(cfg_path[len(PREFIX):]), None
        if isinstance(cfg_path, str) and '::' in cfg_path:
            found = host_config(cfg_path)
            if found is not None:
                return found
        return original(cfg_path, filename)

    try:
        from mmengine.config.utils import MODULE2PACKAGE
        adopt_renamed_distributions(MODULE2PACKAGE)
    except ImportError:
        pass
    setattr(_get_cfg_path, _MARK, True)
    _get_cfg_path.__wrapped__ = original
    config_cls._get_cfg_path = staticmethod(_get_cfg_path)
    return True


class _ConfigModuleWatcher:
    """Meta-path finder that answers for nothing: when mmengine's config module is about to be
    loaded, it lets the normal finders find it and installs the resolver after it loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot, and not asked again below
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, 'loader', None)
        exec_module = getattr(loader, 'exec_module', None)
        if exec_module is None:
            return spec

        def exec_and_install(module):
            exec_module(module)
            try:
                install_resolver(module.Config, strict=False)
            except Exception as exc:  # never break the interpreter's start
                print(f'[mmtwins start-up hook] not applied: {exc}', file=sys.stderr)

        loader.exec_module = exec_and_install
        return spec


def install() -> None:
    """Called by ``mmtwins-startup.pth``: install the resolver as soon as mmengine's config
    module is loaded (at once if it is loaded already)."""
    try:
        module = sys.modules.get(TARGET)
        if module is not None:
            install_resolver(module.Config, strict=False)
        elif not any(isinstance(f, _ConfigModuleWatcher) for f in sys.meta_path):
            sys.meta_path.insert(0, _ConfigModuleWatcher())
    except Exception as exc:
        print(f'[mmtwins start-up hook] not applied: {exc}', file=sys.stderr)
