"""Checks that a config's datasets are where it says, with what to do when they are not."""
import os
import os.path as osp
from typing import Any

from mmengine.config import Config

from ..errors import InputNotFoundError

DATASET_HINTS = {
    'mmdet': ('COCO 2017 (https://cocodataset.org): annotations/instances_{train,val}2017.json, '
              'train2017/, val2017/', 'python -m mmtwins.utils.toydata coco --out data/toy/coco'),
    'mmseg': ('ADE20K (ADEChallengeData2016.zip from the MIT Scene Parsing benchmark): '
              'images/ and annotations/ with training/ and validation/',
              'python -m mmtwins.utils.toydata ade20k --out data/toy/ade'),
}


def _dataset_roots(node: Any):
    """(data_root, dataset dict) pairs of a dataset config, through dataset wrappers."""
    if isinstance(node, dict):
        if 'data_root' in node:
            yield node['data_root'], node
        for key in ('dataset', 'datasets'):
            yield from _dataset_roots(node.get(key))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _dataset_roots(item)


def check_data(cfg: Config, loaders) -> None:
    """Stop with a clear message when a dataloader's data root or annotation file is missing."""
    for name in loaders:
        loader = cfg.get(name)
        if not loader:
            continue
        for root, dataset in _dataset_roots(loader.get('dataset')):
            ann = dataset.get('ann_file') or ''
            missing = None
            if root and not osp.isdir(root):
                missing = f'data root {root!r}'
            elif ann and not osp.isfile(osp.join(root or '', ann)):
                missing = f'annotation file {osp.join(root or "", ann)!r}'
            if missing:
                layout, toy = DATASET_HINTS.get(cfg.get('default_scope'), ('', ''))
                raise InputNotFoundError(
                    f'{name}: the {missing} does not exist (from {os.getcwd()}).\n'
                    f'Prepare the dataset there ({layout}), or point the config at your copy, '
                    f'e.g. --cfg-options {name}.dataset.data_root=PATH (train, val and test '
                    f'loaders each have one); for a small synthetic stand-in: {toy}')
