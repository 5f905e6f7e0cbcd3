_base_ = ['./_base_/cascade_mask_rcnn_twins_fpn_3x_ms_coco.py']
# ImageNet-1k Twins-SVT-B weights (mmseg's conversion of the official release). Any Twins
# checkpoint format works; override with a local path here or with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/alt_gvt_base_20220308-1b7eb711.pth'  # noqa: E501
model = dict(
    backbone=dict(type='mmtwins.TwinsSVT', arch='base', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384, 768]))
