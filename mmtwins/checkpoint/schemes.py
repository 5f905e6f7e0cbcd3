"""mmengine's checkpoint loaders, one per path scheme, replaced by ones that read safely.

mmengine's ``load_checkpoint`` (and so ``load_from``, ``--resume``, every ``init_cfg``
``Pretrained``, the hosts' ``test.py``, ``init_model``/``init_detector`` and the
inferencers) picks a loader by the checkpoint's prefix from ``CheckpointLoader``. Its own
loaders read local files with plain ``torch.load`` (onedl-mmengine retries a refused file
with ``weights_only=False``), and everything they download through
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` is False: a downloaded pickle
could run code. :func:`register_safe_loaders` registers, through mmengine's public
``CheckpointLoader.register_scheme``, a loader for every scheme mmengine knows:

============================================  =================================================
``''`` (local files)                          :func:`~mmtwins.checkpoint.io.load_file`
``http://``, ``https://``                     download (atomic, hash-checked, once per node),
                                              then ``load_file``
``open-mmlab://``, ``openmmlab://``           mmengine's name table, then as a URL or file
``torchvision://``, ``modelzoo://``           torchvision's name table, then as a URL
``mmcls://``                                  mmengine's mmcls table, then as a URL (the
                                              backbone's tensors, as mmengine keeps them)
``pavi://``, ``s3://``, ``petrel://``         fetched as mmengine does, then ``load_file``
============================================  =================================================

``load_file`` reads with ``torch.load(weights_only=True)`` and mmtwins' allow-list, or as
safetensors, and refuses anything else with one :class:`~mmtwins.errors.CheckpointError`.
"""
import logging
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Tuple

from ..errors import CheckpointNotFoundError
from .download import download_once_per_node, is_url
from .io import load_file


def _mmengine_checkpoint_module():
    from mmengine.runner import checkpoint
    return checkpoint


def mmengine_home() -> str:
    """mmengine's cache directory (``MMENGINE_HOME``, else ``$XDG_CACHE_HOME/mmengine``),
    where ``open_mmlab.json`` and relative ``open-mmlab://`` entries are looked up."""
    return osp.expanduser(os.getenv('MMENGINE_HOME', osp.join(
        os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')))


def load_from_local(filename, map_location=None) -> Any:
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f'checkpoint not found: {filename!r} is not a file.')
    return load_file(path, map_location=map_location)


def load_from_http(filename, map_location=None) -> Any:
    return load_file(download_once_per_node(filename), map_location=map_location)


def _by_name(filename: str, prefixes: Tuple[str, ...], table: Dict[str, str],
             where: str) -> str:
    prefix = next(p for p in prefixes if filename.startswith(p))
    name = filename[len(prefix):]
    if name not in table:
        raise CheckpointNotFoundError(
            f'{filename}: {name!r} is not a model name of {prefix} ({where}). Check the name, '
            f'or give the checkpoint\'s URL or local path instead.')
    return table[name]


def load_from_openmmlab(filename, map_location=None) -> Any:
    mm = _mmengine_checkpoint_module()
    prefixes = ('open-mmlab://', 'openmmlab://')
    prefix = next(p for p in prefixes if filename.startswith(p))
    name = filename[len(prefix):]
    deprecated = mm.get_deprecated_model_names()
    if name in deprecated:
        from mmengine.logging import print_log
        print_log(f'{prefix}{name} is deprecated in favor of {prefix}{deprecated[name]}',
                  logger='current', level=logging.WARNING)
        name = deprecated[name]
    url = _by_name(prefix + name, prefixes, mm.get_external_models(),
                   "mmengine's hub/openmmlab.json and MMENGINE_HOME/open_mmlab.json")
    if is_url(url):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(mmengine_home(), url), map_location)


def torchvision_model_urls() -> Dict[str, str]:
    """torchvision's weight names and URLs; without torchvision, the table mmengine ships
    (torchvision 0.12's names, e.g. ``resnet50``)."""
    mm = _mmengine_checkpoint_module()
    try:
        return mm.get_torchvision_models()
    except ImportError:
        from mmengine.fileio import load
        return load(osp.join(osp.dirname(osp.dirname(mm.__file__)), 'hub',
                             'torchvision_0.12.json'))


def load_from_torchvision(filename, map_location=None) -> Any:
    if filename.startswith('modelzoo://'):
        from mmengine.logging import print_log
        print_log('The URL scheme of "modelzoo://" is deprecated, please use "torchvision://" '
                  'instead', logger='current', level=logging.WARNING)
    url = _by_name(filename, ('modelzoo://', 'torchvision://'), torchvision_model_urls(),
                   "torchvision's weights")
    return load_from_http(url, map_location)


def load_from_mmcls(filename, map_location=None) -> Any:
    mm = _mmengine_checkpoint_module()
    url = _by_name(filename, ('mmcls://',), mm.get_mmcls_models(), "mmengine's hub/mmcls.json")
    checkpoint = load_from_http(url, map_location)
    # as mmengine: the backbone's tensors, without their 'backbone.' prefix
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else checkpoint
    return dict(state_dict=OrderedDict((k[len('backbone.'):], v) for k, v in state_dict.items()
                                       if k.startswith('backbone.')))


def load_from_pavi(filename, map_location=None) -> Any:
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError('Please install pavi to load checkpoint from modelcloud.') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return load_file(downloaded, map_location=map_location)


def load_from_ceph(filename, map_location=None, backend='petrel') -> Any:
    from mmengine.fileio import get_file_backend
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = osp.join(tmp_dir, osp.basename(filename) or 'checkpoint.pth')
        with open(local, 'wb') as f:
            f.write(data)
        return load_file(local, map_location=map_location)


# mmengine's schemes (the same in mmengine 0.10.x and onedl-mmengine 0.10.x) and ours
SAFE_LOADERS: List[Tuple[Tuple[str, ...], Callable]] = [
    (('',), load_from_local),
    (('http://', 'https://'), load_from_http),
    (('open-mmlab://', 'openmmlab://'), load_from_openmmlab),
    (('modelzoo://', 'torchvision://'), load_from_torchvision),
    (('mmcls://',), load_from_mmcls),
    (('pavi://',), load_from_pavi),
    ((r'(\S+\:)?s3://', r'(\S+\:)?petrel://'), load_from_ceph),
]


def register_safe_loaders() -> None:
    """Make every scheme of mmengine's ``CheckpointLoader`` read with mmtwins' safe reader
    (run when mmtwins is imported, which every mmtwins config does)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader in SAFE_LOADERS:
        CheckpointLoader.register_scheme(prefixes=list(prefixes), loader=loader, force=True)


def unsafe_schemes() -> List[str]:
    """Prefixes of mmengine's ``CheckpointLoader`` whose loader is not mmtwins' (e.g. a scheme
    that a newer mmengine or another package added): reported by ``python -m mmtwins.env``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    ours = {loader for _, loader in SAFE_LOADERS}
    return [prefix for prefix, loader in CheckpointLoader._schemes.items() if loader not in ours]
