"""From what a user names (a path, a URL, a Hugging Face hub id) to a local file, and from there
to its contents, read safely. Sits above :mod:`.download`, :mod:`.hub` and :mod:`.io`, which
know nothing of each other."""
import os
import os.path as osp
from typing import Any, Optional

from ..errors import CheckpointNotFoundError
from .download import download_once_per_node, is_url
from .hub import download_from_hub, is_hub_id
from .io import load_file


def resolve_checkpoint_path(path_or_url) -> str:
    """Local path of a checkpoint.

    * a local path: checked to exist;
    * an ``http(s)://`` URL: downloaded once into torch's hub cache, atomically and checked
      against the SHA-256 prefix in its name (:mod:`mmtwins.checkpoint.download`);
    * a Hugging Face hub repo id (``'timm/twins_svt_small.in1k'``,
      ``'hf-hub:ORG/NAME[@REV]'``): fetched with huggingface_hub into its cache
      (:mod:`mmtwins.checkpoint.hub`).
    """
    if is_hub_id(path_or_url):
        return download_from_hub(path_or_url)
    path_or_url = os.fspath(path_or_url)
    if is_url(path_or_url):
        return download_once_per_node(path_or_url)
    path = osp.expanduser(path_or_url)
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'checkpoint not found: {path_or_url!r}. Give the path of a local file or an '
            f'http(s) URL; convert official/timm/mmseg/mmpretrain files with '
            f'tools/model_converters/twins2mmtwins.py if you want a local copy.')
    return path


def read_checkpoint(path_or_url, map_location: Optional[str] = 'cpu') -> Any:
    """:func:`resolve_checkpoint_path`, then :func:`mmtwins.checkpoint.io.load_file`
    (``weights_only=True`` with mmtwins' allow-list, or safetensors)."""
    return load_file(resolve_checkpoint_path(path_or_url), map_location=map_location)
