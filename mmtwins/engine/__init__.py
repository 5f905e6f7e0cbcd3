"""Training helpers registered for mmengine (available from every OpenMMLab scope)."""
from .amp import FP32PostProcessingHook, keep_postprocessing_fp32
from .checkpointing import AtomicLocalBackend, find_resumable_checkpoint
from .compile_hook import CompileForInferenceHook
from .layer_decay import TwinsLayerDecayOptimWrapperConstructor
from .load_check import CheckpointCompatibilityHook
from .optim_wrapper import AutocastOptimWrapper
from .shape_buckets import ShapeBucketHook

__all__ = ['AtomicLocalBackend', 'AutocastOptimWrapper', 'CheckpointCompatibilityHook',
           'CompileForInferenceHook', 'FP32PostProcessingHook', 'keep_postprocessing_fp32',
           'ShapeBucketHook', 'TwinsLayerDecayOptimWrapperConstructor',
           'find_resumable_checkpoint']
