# Official Twins RetinaNet 3x + multi-scale recipe on COCO; variant configs set the backbone.
_base_ = [
    './models/retinanet_twins_fpn.py', './datasets/coco_detection_ms.py',
    './schedules/det_adamw_3x.py', './det_runtime.py'
]
