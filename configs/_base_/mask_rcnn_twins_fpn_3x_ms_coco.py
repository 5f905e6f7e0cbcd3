# Official Twins Mask R-CNN 3x + multi-scale recipe on COCO; variant configs set the backbone.
_base_ = [
    './models/mask_rcnn_twins_fpn.py', './datasets/coco_instance_ms.py',
    './schedules/det_adamw_3x.py', 'mmdet::_base_/default_runtime.py'
]
# checkpoints (and the last_checkpoint pointer) are written to a temporary file and renamed
# when complete (mmtwins' file backend, mmtwins/engine/checkpointing.py), also in runs of
# mmdet's/mmseg's own tools/train.py: a job killed while saving never leaves a truncated one
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
