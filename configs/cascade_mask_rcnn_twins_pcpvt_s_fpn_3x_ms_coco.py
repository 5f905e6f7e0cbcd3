_base_ = ['./_base_/cascade_mask_rcnn_twins_fpn_3x_ms_coco.py']
# ImageNet-1k Twins-PCPVT-S weights (mmseg's conversion of the official release). Any Twins
# checkpoint format works; override with a local path here or with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_small_20220308-e638c41c.pth'  # noqa: E501
model = dict(
    backbone=dict(type='mmtwins.TwinsPCPVT', arch='small', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[64, 128, 320, 512]))
