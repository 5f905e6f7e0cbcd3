# Mask R-CNN with a Twins backbone: mmdet's Mask R-CNN R50-FPN with the backbone swapped.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
# refuses a load_from/--resume/test checkpoint that does not fit the model, and logs one
# line of what was loaded (class-count layers may differ when fine-tuning)
custom_hooks = [dict(type='CheckpointCompatibilityHook')]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmtwins.TwinsPCPVT',  # each variant config sets type, arch and checkpoint
        arch='small',
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=None)),
    # official recipe: FPN on all 4 stages, 5 outputs
    neck=dict(in_channels=[64, 128, 320, 512], num_outs=5))
