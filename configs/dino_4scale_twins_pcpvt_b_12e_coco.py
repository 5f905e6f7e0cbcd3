_base_ = ['./_base_/dino_4scale_twins_12e_coco.py']
# ImageNet-1k Twins-PCPVT-B weights (mmseg's conversion of the official release). Any Twins
# checkpoint format works; override with a local path here or with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_base_20220308-0621964c.pth'  # noqa: E501
model = dict(
    backbone=dict(type='mmtwins.TwinsPCPVT', arch='base', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[128, 320, 512]))
