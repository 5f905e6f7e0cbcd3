# DINO-4scale with a Twins backbone on COCO: 12 epochs, 8 GPUs x 2 images; variant configs
# set the backbone and the neck's input widths.
# No official Twins recipe exists for this head, and mmdet has no Swin-T/S/B DINO config: it
# follows mmdet's DINO-4scale R-50 12e (dino-4scale_r50_8xb2-12e_coco.py: 900 queries, DETR
# multi-scale augmentation, AdamW lr 1e-4, wd 1e-4, grad clip 0.1, lr x0.1 at epoch 11,
# backbone at 0.1 x lr) with the backbone settings of mmdet's DINO-5scale Swin-L (drop path
# 0.2). Changed for Twins:
#   - backbone: Twins, drop path 0.2 for every size (as Swin-L's DINO and our detectors);
#   - four scales as for R-50: stages 2-4 (strides 8, 16, 32; out_indices=(1, 2, 3)) feed the
#     ChannelMapper, which adds the fourth (stride 64) by a stride-2 3x3 conv of stage 4;
#     neck.in_channels = the variant's embed_dims[1:];
#   - no weight decay (and 0.1 x lr) for Twins' norms and PEGs, matched by their real names
#     (the R-50 recipe has no exclusions; its frozen BN has nothing to decay). mmengine applies
#     only the longest matching key, so each key must be longer than 'backbone' to win over it.
_base_ = ['mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', './mmtwins.py']
model = dict(
    backbone=dict(_base_.twins_backbone, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[128, 320, 512]))
# mmtwins names: patch-embedding norms 'stages.{i}.patch_embed.norm', block norms
# 'blocks.{j}.norm1/norm2', GSA's sub-sampling norm 'attn.norm', SVT's stage norms
# 'stages.{i}.norm', PEGs 'stages.{i}.peg.proj'
backbone_no_decay = dict(lr_mult=0.1, decay_mult=0.0)
twins_no_decay_keys = ['patch_embed.norm', '.norm1.weight', '.norm1.bias', '.norm2.weight',
                       '.norm2.bias', '.attn.norm.', '.peg.proj.'] + \
    [f'backbone.stages.{i}.norm.' for i in range(4)]
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={key: backbone_no_decay for key in twins_no_decay_keys}))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# checkpoints (and the last_checkpoint pointer) are written to a temporary file and renamed
# when complete (mmtwins' file backend, mmtwins/engine/checkpointing.py), also in runs of
# mmdet's/mmseg's own tools/train.py: a job killed while saving never leaves a truncated one
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
