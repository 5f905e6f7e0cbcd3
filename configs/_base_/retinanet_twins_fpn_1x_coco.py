# Official Twins RetinaNet 1x recipe on COCO; variant configs set the backbone.
_base_ = [
    './models/retinanet_twins_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    './schedules/det_adamw_1x.py', 'mmdet::_base_/default_runtime.py'
]
# checkpoints (and the last_checkpoint pointer) are written to a temporary file and renamed
# when complete (mmtwins' file backend, mmtwins/engine/checkpointing.py), also in runs of
# mmdet's/mmseg's own tools/train.py: a job killed while saving never leaves a truncated one
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
