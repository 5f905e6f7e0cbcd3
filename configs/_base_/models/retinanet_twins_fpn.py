# RetinaNet with a Twins backbone: mmdet's RetinaNet R50-FPN with the backbone swapped.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', '../mmtwins.py']
model = dict(
    backbone=_base_.twins_backbone,
    # official recipe: FPN from stage 2 on, extra levels from the input, 5 outputs
    neck=dict(in_channels=[64, 128, 320, 512], start_level=1, add_extra_convs='on_input',
              num_outs=5))
