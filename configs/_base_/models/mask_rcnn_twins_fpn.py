# Mask R-CNN with a Twins backbone: mmdet's Mask R-CNN R50-FPN with the backbone swapped.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../mmtwins.py']
model = dict(
    backbone=_base_.twins_backbone,
    # official recipe: FPN on all 4 stages, 5 outputs
    neck=dict(in_channels=[64, 128, 320, 512], num_outs=5))
