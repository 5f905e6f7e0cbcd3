# Official Twins RetinaNet 1x recipe on COCO; variant configs set the backbone.
_base_ = [
    './models/retinanet_twins_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    './schedules/det_adamw_1x.py', './det_runtime.py'
]
