# Semantic FPN with a Twins backbone: mmseg's Twins FPN (FPN 256 channels, FPNHead 128).
_base_ = ['mmseg::_base_/models/twins_pcpvt-s_fpn.py', '../mmtwins.py']
model = dict(backbone=_base_.twins_backbone)
