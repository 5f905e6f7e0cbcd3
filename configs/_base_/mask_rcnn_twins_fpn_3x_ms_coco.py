# Official Twins Mask R-CNN 3x + multi-scale recipe on COCO; variant configs set the backbone.
_base_ = [
    './models/mask_rcnn_twins_fpn.py', './datasets/coco_instance_ms.py',
    './schedules/det_adamw_3x.py', './det_runtime.py'
]
