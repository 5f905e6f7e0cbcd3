# Cascade Mask R-CNN with a Twins backbone: mmdet's Cascade Mask R-CNN R50-FPN with the
# backbone swapped and the box heads of mmdet's ConvNeXt-T cascade 3x config
# (cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py): per stage
# 4 shared 3x3 convs + 1 fc with SyncBN, class-specific regression of decoded boxes, GIoU
# loss (weight 10); the three stages differ only in their target stds.
_base_ = ['mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py', '../mmtwins.py']
model = dict(
    backbone=_base_.twins_backbone,
    # as our Mask R-CNN and ConvNeXt's cascade: FPN on all 4 stages, 5 outputs
    neck=dict(in_channels=[64, 128, 320, 512], num_outs=5),
    roi_head=dict(bbox_head=[
        dict(type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1, in_channels=256,
             conv_out_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=80,
             bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                             target_stds=stds),
             reg_class_agnostic=False, reg_decoded_bbox=True,
             norm_cfg=dict(type='SyncBN', requires_grad=True),
             loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
             loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                     [0.033, 0.033, 0.067, 0.067])]))
