"""Training helpers registered for mmengine (available from every OpenMMLab scope)."""
from .optim_wrapper import AutocastOptimWrapper

__all__ = ['AutocastOptimWrapper']
