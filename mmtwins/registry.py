"""mmtwins' registry, a child of mmengine's root ``MODELS``.

Our backbones are registered twice:

* in the ``mmtwins`` scope, so that ``type='mmtwins.TwinsSVT'`` resolves from any
  OpenMMLab scope (mmengine finds the ``mmtwins`` child of the root registry);
* in mmengine's root ``MODELS``, which every downstream registry (mmdet, mmseg,
  mmpretrain, ...) searches after its own, so that a bare ``type='TwinsSVT'`` resolves from
  an mmdet- or mmseg-scoped config without mmtwins importing either library.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmtwins', locations=['mmtwins.models'])


def register_backbone(cls):
    """Class decorator: register ``cls`` in the ``mmtwins`` scope and in the root."""
    MODELS.register_module(module=cls)
    MMENGINE_MODELS.register_module(module=cls)
    return cls
