# Official Twins Mask R-CNN 1x recipe on COCO (AdamW lr 2e-4); variant configs set the backbone.
_base_ = [
    './models/mask_rcnn_twins_fpn.py', 'mmdet::_base_/datasets/coco_instance.py',
    './schedules/det_adamw_1x.py', './det_runtime.py'
]
optim_wrapper = dict(optimizer=dict(lr=2e-4))
