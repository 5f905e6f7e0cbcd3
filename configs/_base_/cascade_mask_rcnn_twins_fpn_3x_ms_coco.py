# Cascade Mask R-CNN with a Twins backbone on COCO, the 3x + multi-scale setting of our Mask R-CNN
# 3x configs; variant configs set the backbone and the FPN's input widths.
# No official Twins recipe exists for this head, and mmdet has no Swin cascade config: the model
# follows mmdet's ConvNeXt-T cascade 3x (cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_
# amp-ms-crop-3x_coco.py; heads in ./models/cascade_mask_rcnn_twins_fpn.py), whose data and
# schedule are ours already: the same DETR-style multi-scale augmentation, 36 epochs, lr x0.1 at
# epochs 27 and 33, AdamW wd 0.05, batch 16. Changed for Twins:
#   - optimizer: the official Twins 3x one (./schedules/det_adamw_3x.py: lr 1e-4 for the whole
#     model, no weight decay on Twins' norms and PEGs, matched by their real names, warm-up 500
#     iterations), as our Mask R-CNN 3x, instead of ConvNeXt's lr 2e-4 with layer-wise decay 0.7
#     (mmdet's LearningRateDecayOptimizerConstructor knows only ConvNeXt's layers; for Twins,
#     TwinsLayerDecayOptimWrapperConstructor does it, see docs/beyond_paper.md) and no decay on
#     every 1-D parameter;
#   - backbone: Twins, drop path 0.2 for every size (the official Twins detection setting;
#     ConvNeXt-T/S use 0.4/0.6);
#   - fp32 by default (ConvNeXt's config hard-codes AmpOptimWrapper, GPU only): pass --amp;
#   - all four stages feed the FPN: neck.in_channels = the variant's embed_dims.
_base_ = [
    './models/cascade_mask_rcnn_twins_fpn.py', './datasets/coco_instance_ms.py',
    './schedules/det_adamw_3x.py', './det_runtime.py'
]
