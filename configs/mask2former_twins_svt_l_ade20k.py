_base_ = ['./_base_/mask2former_twins_160k_ade20k.py']
# ImageNet-1k Twins-SVT-L weights (mmseg's conversion of the official release). Any Twins
# checkpoint format works; override with a local path here or with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/alt_gvt_large_20220308-fb5936f3.pth'  # noqa: E501
model = dict(
    backbone=dict(type='mmtwins.TwinsSVT', arch='large', init_cfg=dict(checkpoint=checkpoint)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]))
