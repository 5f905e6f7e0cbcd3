# Fine-tune RetinaNet Twins-SVT-S on a 3-class dataset in COCO layout (boxes only).
_base_ = ['mmtwins::retinanet_twins_svt_s_fpn_1x_coco.py']

data_root = 'data/shapes_coco/'
metainfo = dict(classes=('sports ball', 'kite', 'tv'),
                palette=[(240, 140, 30), (40, 190, 60), (40, 70, 210)])
img_scale = (320, 256)  # small images: no need for the COCO 1333x800 recipe
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
model = dict(bbox_head=dict(num_classes=3))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
# fine-tuning: half the recipe's learning rate, 12 epochs
optim_wrapper = dict(optimizer=dict(lr=5e-5))
