"""mmtwins: Twins-PCPVT and Twins-SVT backbones for the OpenMMLab 2.x stack.

Importing mmtwins registers ``TwinsPCPVT`` and ``TwinsSVT`` (as ``mmtwins.TwinsSVT`` and
as ``TwinsSVT``) for mmdet, mmseg and any other OpenMMLab scope, and lets
``torch.load(weights_only=True)`` read mmengine's own checkpoints. It needs only torch,
mmengine and mmcv, from either stack (the original OpenMMLab packages or the OneDL forks, see
:mod:`mmtwins.stack_check`); mmdet and mmseg are optional.
"""
from .stack_check import check as _check_stack

_check_stack()  # before anything imports mmengine: one clear ImportError if the stack is missing

from . import config_paths, engine, models  # noqa: E402,F401  (mmtwins::, registrations)
from .checkpoint import allow_mmengine_checkpoints, register_safe_loaders
from .models import TwinsPCPVT, TwinsSVT  # noqa: E402
from .version import __version__, version_info

# mmengine's own checkpoints (HistoryBuffer, numpy scalars in the message hub) are refused by
# torch.load(weights_only=True), the default since torch 2.6, in every loader that does not
# pass an allow-list: mmseg's init_model, mmdet's init_detector, the inferencers, the hosts'
# test.py. Our configs import mmtwins before any checkpoint is read, so allow exactly those
# globals here (torch's public allow-list; weights_only stays on).
allow_mmengine_checkpoints()
# ... and mmengine's loader of every scheme (local files, http(s) URLs, open-mmlab://, ...) reads
# the same way on both stacks: mmengine downloads with torch.hub's weights_only=False, and
# onedl-mmengine retries a refused local file with weights_only=False. See checkpoint/schemes.py.
register_safe_loaders()
# ... and, in a process that has imported mmdeploy (its torch2onnx builds the model from a config
# that imports mmtwins), what a Twins model needs to export through it: see
# deployment/mmdeploy_support.py (registers nothing, and imports no mmdeploy, otherwise)
from .deployment import mmdeploy_support  # noqa: E402,F401

__all__ = ['__version__', 'version_info', 'TwinsPCPVT', 'TwinsSVT']
