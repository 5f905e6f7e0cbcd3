"""mmtwins: Twins-PCPVT and Twins-SVT backbones for the OpenMMLab 2.x stack.

Importing mmtwins registers ``TwinsPCPVT`` and ``TwinsSVT`` (as ``mmtwins.TwinsSVT`` and
as ``TwinsSVT``) for mmdet, mmseg and any other OpenMMLab scope, and lets
``torch.load(weights_only=True)`` read mmengine's own checkpoints. It needs only torch,
mmengine and mmcv; mmdet and mmseg are optional.
"""
from . import config, engine, models  # noqa: E402,F401  (mmtwins::, registrations)
from .checkpoint import allow_mmengine_checkpoints
from .models import TwinsPCPVT, TwinsSVT  # noqa: E402
from .version import __version__, version_info

# mmengine's own checkpoints (HistoryBuffer, numpy scalars in the message hub) are refused by
# torch.load(weights_only=True), the default since torch 2.6, in every loader that does not
# pass an allow-list: mmseg's init_model, mmdet's init_detector, the inferencers, the hosts'
# test.py. Our configs import mmtwins before any checkpoint is read, so allow exactly those
# globals here (torch's public allow-list; weights_only stays on).
allow_mmengine_checkpoints()

__all__ = ['__version__', 'version_info', 'TwinsPCPVT', 'TwinsSVT']
