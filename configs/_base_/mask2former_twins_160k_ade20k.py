# Mask2Former with a Twins backbone on ADE20K: 160k iterations, 512x512 crops, 8 GPUs x 2
# images; variant configs set the backbone and the pixel decoder's input widths.
# No official Twins recipe exists for this head. It follows mmseg's Swin-T/S Mask2Former
# (mask2former_swin-{t,s}_8xb2-160k_ade20k-512x512.py, themselves mmseg's R-50 config below
# with the backbone swapped): AdamW lr 1e-4, wd 0.05, eps 1e-8, grad clip 0.01, poly (0.9) to 0
# over 160k iterations; the backbone at 0.1 x lr, no weight decay on norms, query and level
# embeddings. Changed for Twins:
#   - backbone: Twins, drop path 0.3 for every size (Swin-T/S/B all use 0.3 here);
#   - all four stages (strides 4-32) feed the pixel decoder (its deformable encoder takes the
#     three coarsest): decode_head.in_channels = the variant's embed_dims;
#   - no weight decay (and 0.1 x lr) for Twins' norms and PEGs, matched by their real names
#     (Swin's keys name Swin's modules and match nothing here). mmengine applies only the
#     longest matching key, so each key must be longer than 'backbone' to win over it.
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py']
# mmdet.models: the pixel decoder, losses and matcher are mmdet's (as in mmseg's config)
custom_imports = dict(imports=['mmdet.models', 'mmtwins'], allow_failed_imports=False)
# refuses a load_from/--resume/test checkpoint that does not fit the model, and logs one
# line of what was loaded (class-count layers may differ when fine-tuning)
custom_hooks = [dict(type='CheckpointCompatibilityHook')]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmtwins.TwinsPCPVT',  # each variant config sets type, arch and checkpoint
        arch='small',
        drop_path_rate=0.3,
        init_cfg=dict(type='Pretrained', checkpoint=None)),
    decode_head=dict(in_channels=[64, 128, 320, 512]))
# mmtwins names: patch-embedding norms 'stages.{i}.patch_embed.norm', block norms
# 'blocks.{j}.norm1/norm2', GSA's sub-sampling norm 'attn.norm', SVT's stage norms
# 'stages.{i}.norm', PEGs 'stages.{i}.peg.proj'
backbone_no_decay = dict(lr_mult=0.1, decay_mult=0.0)
twins_no_decay_keys = ['patch_embed.norm', '.norm1.weight', '.norm1.bias', '.norm2.weight',
                       '.norm2.bias', '.attn.norm.', '.peg.proj.'] + \
    [f'backbone.stages.{i}.norm.' for i in range(4)]
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={key: backbone_no_decay for key in twins_no_decay_keys}))
# checkpoints (and the last_checkpoint pointer) are written to a temporary file and renamed
# when complete (mmtwins' file backend, mmtwins/engine/checkpointing.py), also in runs of
# mmdet's/mmseg's own tools/train.py: a job killed while saving never leaves a truncated one
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
