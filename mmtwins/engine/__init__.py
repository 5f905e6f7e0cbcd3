"""Training helpers registered for mmengine (available from every OpenMMLab scope)."""
from .layer_decay import TwinsLayerDecayOptimWrapperConstructor
from .load_check import CheckpointCompatibilityHook
from .optim_wrapper import AutocastOptimWrapper

__all__ = ['AutocastOptimWrapper', 'CheckpointCompatibilityHook',
           'TwinsLayerDecayOptimWrapperConstructor']
