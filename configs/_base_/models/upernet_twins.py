# UPerNet with a Twins backbone: mmseg's Twins UPerNet heads (UPerHead, pool scales 1,2,3,6,
# 512 channels; auxiliary FCNHead on stage 3, 256 channels, loss weight 0.4; 150 classes).
_base_ = ['mmseg::_base_/models/twins_pcpvt-s_upernet.py', '../mmtwins.py']
model = dict(backbone=_base_.twins_backbone)
