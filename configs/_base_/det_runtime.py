# mmdet's runtime, with mmtwins' atomic checkpoints: checkpoints (and the last_checkpoint
# pointer) are written to a temporary file and renamed when complete (mmtwins' file backend,
# mmtwins/engine/checkpointing.py), also in runs of mmdet's own tools/train.py: a job killed
# while saving never leaves a truncated one. (mmseg keeps its checkpoint hook in its schedules:
# ./schedules/seg_*.py set the same there.)
_base_ = ['mmdet::_base_/default_runtime.py']
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
