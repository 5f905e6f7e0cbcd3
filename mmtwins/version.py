__version__ = '0.1.0'


def _parse(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.split('.'))


version_info = _parse(__version__)
