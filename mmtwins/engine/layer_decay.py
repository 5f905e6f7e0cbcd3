"""Layer-wise learning-rate decay for Twins backbones in detectors and segmentors."""
from typing import List

from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TwinsLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups with ``lr = base_lr * decay_rate ** (num_layers - 1 - depth)``.

    The depth of each backbone parameter comes from the backbone
    (:meth:`mmtwins.models.TwinsBase.get_layer_depth`, mmpretrain's contract, so
    mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` gives the same learning rates):
    the first patch embedding is 0,
    blocks count up to the last one, and everything outside the backbone (neck, heads)
    gets the full learning rate. What it adds to mmpretrain's constructor: it finds the
    backbone inside any detector or segmentor (mmpretrain's needs a model with
    ``get_layer_depth``, which mmdet's and mmseg's models lack), and parameters whose name
    contains one of ``no_decay_keys`` (default: norms and PEGs) get no weight decay.

    Config::

        optim_wrapper = dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01),
            constructor='TwinsLayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.9))
    """

    def add_params(self, params: List[dict], module: nn.Module, **kwargs) -> None:
        cfg = dict(self.paramwise_cfg or {})
        rate = cfg.get('layer_decay_rate', 0.9)
        if not 0 < rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        no_decay_keys = tuple(cfg.get('no_decay_keys', ('norm', '.peg.')))
        backbone = getattr(module, 'backbone', module)
        if not hasattr(backbone, 'get_layer_depth'):
            raise TypeError(f'{type(backbone).__name__} does not report layer depths; '
                            'TwinsLayerDecayOptimWrapperConstructor needs a Twins backbone')
        prefix = 'backbone.' if backbone is not module else ''
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            depth, num_layers = backbone.get_layer_depth(name, prefix)
            no_decay = any(key in name for key in no_decay_keys)
            key = (depth, no_decay)
            if key not in groups:
                groups[key] = dict(
                    params=[], lr=self.base_lr * rate ** (num_layers - 1 - depth),
                    weight_decay=0.0 if no_decay else (self.base_wd or 0.0),
                    layer_depth=depth)
            groups[key]['params'].append(param)
        params.extend(groups[k] for k in sorted(groups))
