_base_ = ['./_base_/dino_4scale_twins_12e_coco.py']
# ImageNet-1k Twins-SVT-S weights (mmseg's conversion of the official release). Any Twins
# checkpoint format works; override with a local path here or with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/alt_gvt_small_20220308-7e1c3695.pth'  # noqa: E501
model = dict(
    backbone=dict(type='mmtwins.TwinsSVT', arch='small', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[128, 256, 512]))
