"""Start-up hook: ``mmtwins::`` in a config's ``_base_`` works in any script, also one that
never imports mmtwins (``Config.fromfile``, ``mmdet.apis.init_detector``, ``mmseg.apis``).

mmengine resolves ``_base_`` before a config's ``custom_imports`` run, and resolves ``pkg::``
only for the OpenMMLab packages in its own table, so a script that has not imported mmtwins
would fail on the first ``mmtwins::`` with an unrelated message. Installing mmtwins (wheel or
editable) puts a copy of this file in site-packages as ``_mmtwins_startup.py``, with
``mmtwins-startup.pth`` importing it when Python starts (see setup.py). It then only watches
for mmengine's config module to be imported; from then on, the first ``mmtwins::`` path a config
names imports mmtwins, which teaches mmengine the prefix (mmtwins/config.py). Nothing else is
imported or changed, it uses the standard library only, and it never raises at start-up.
Remove ``mmtwins-startup.pth`` from site-packages to switch it off (``import mmtwins`` before
loading such a config then does the same).
"""
import sys

PREFIX = 'mmtwins::'
TARGET = 'mmengine.config.config'


def teach_config(module) -> None:
    """Let ``module.Config`` (mmengine's) import mmtwins on the first ``mmtwins::`` path."""
    config_cls = module.Config
    original = config_cls._get_cfg_path
    if getattr(original, '_mmtwins', False) or getattr(original, '_mmtwins_hook', False):
        return

    def _get_cfg_path(cfg_path, filename):
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            try:
                import mmtwins  # noqa: F401  (installs mmtwins.config's resolver)
            except Exception as exc:
                raise ImportError(
                    f'{filename} inherits {cfg_path!r}, which needs the mmtwins package, but '
                    f'"import mmtwins" failed ({type(exc).__name__}: {exc}). Check the install '
                    f'with "python -m mmtwins.env" (or run bash tools/setup.sh in a checkout).'
                ) from exc
            resolver = config_cls._get_cfg_path
            if not getattr(resolver, '_mmtwins', False):
                raise ImportError(f'{filename} inherits {cfg_path!r}, but importing mmtwins did '
                                  f'not teach mmengine the {PREFIX} prefix; reinstall mmtwins.')
            return resolver(cfg_path, filename)
        return original(cfg_path, filename)

    _get_cfg_path._mmtwins_hook = True
    config_cls._get_cfg_path = staticmethod(_get_cfg_path)


class _ConfigModuleWatcher:
    """Meta-path finder that answers for nothing: when mmengine's config module is about to be
    loaded, it lets the normal finders find it and runs :func:`teach_config` after it loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        import importlib.util
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot, and not asked again below
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, 'loader', None)
        exec_module = getattr(loader, 'exec_module', None)
        if exec_module is None:
            return spec

        def exec_and_teach(module):
            exec_module(module)
            try:
                teach_config(module)
            except Exception:  # an unexpected mmengine: leave it exactly as it is
                pass

        loader.exec_module = exec_and_teach
        return spec


def install() -> None:
    """Called by ``mmtwins-startup.pth``; does nothing if mmengine's config is loaded already
    (then ``import mmtwins`` is needed, as without this hook)."""
    try:
        if TARGET in sys.modules:
            return
        if not any(isinstance(f, _ConfigModuleWatcher) for f in sys.meta_path):
            sys.meta_path.insert(0, _ConfigModuleWatcher())
    except Exception:
        pass
