# Semantic FPN with a Twins backbone: mmseg's Twins FPN (FPN 256 channels, FPNHead 128).
_base_ = ['mmseg::_base_/models/twins_pcpvt-s_fpn.py']
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmtwins.TwinsPCPVT',  # each variant config sets type, arch and checkpoint
        arch='small',
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=None)))
