"""mmtwins: Twins-PCPVT and Twins-SVT backbones for the OpenMMLab 2.x stack.

Importing mmtwins registers ``TwinsPCPVT`` and ``TwinsSVT`` (as ``mmtwins.TwinsSVT`` and
as ``TwinsSVT``) for mmdet, mmseg and any other OpenMMLab scope. It needs only torch,
mmengine and mmcv; mmdet and mmseg are optional.
"""
from . import config, engine, models  # noqa: E402,F401  (mmtwins::, registrations)
from .models import TwinsPCPVT, TwinsSVT  # noqa: E402
from .version import __version__, version_info

__all__ = ['__version__', 'version_info', 'TwinsPCPVT', 'TwinsSVT']
