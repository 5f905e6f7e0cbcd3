# Mask2Former Twins-SVT-S fine-tuned on the same custom 5-class dataset as
# upernet_twins_svt_s_scenes.py. What changes for Mask2Former: its classifier counts classes
# in two places (num_classes, and the class weights of its loss: one per class plus the
# "no object" weight), and it uses fewer queries for 5 classes.
_base_ = ['mmtwins::mask2former_twins_svt_s_ade20k.py']

num_classes = 5
data_root = 'data/scenes'
metainfo = dict(classes=('wall', 'floor', 'tree', 'person', 'car'),
                palette=[(200, 190, 150), (120, 80, 50), (40, 150, 40), (220, 40, 70),
                         (40, 70, 200)])
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        num_classes=num_classes,
        num_queries=20,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])))
# scale jitter and crops for small images; labels are 0..4 with 255 = ignore (no zero to reduce)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomChoiceResize', scales=[int(128 * x * 0.1) for x in range(8, 16)],
         resize_type='ResizeShortestEdge', max_size=512),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs')
]
scenes = dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo,
              img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **scenes, pipeline=train_pipeline,
                 data_prefix=dict(img_path='images/train', seg_map_path='labels/train')))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **scenes, pipeline=test_pipeline,
                 data_prefix=dict(img_path='images/val', seg_map_path='labels/val')))
test_dataloader = val_dataloader
# a fine-tuning schedule: 2000 iterations, poly decay to 0
train_cfg = dict(max_iters=2000, val_interval=500)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=2000, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=500))
