"""Training helpers registered for mmengine (available from every OpenMMLab scope)."""
from .layer_decay import TwinsLayerDecayOptimWrapperConstructor
from .optim_wrapper import AutocastOptimWrapper

__all__ = ['AutocastOptimWrapper', 'TwinsLayerDecayOptimWrapperConstructor']
