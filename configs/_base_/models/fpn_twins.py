# Semantic FPN with a Twins backbone: mmseg's Twins FPN (FPN 256 channels, FPNHead 128).
_base_ = ['mmseg::_base_/models/twins_pcpvt-s_fpn.py']
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
        init_cfg=dict(type='Pretrained', checkpoint=None)))
