# Official Semantic FPN 80k recipe on ADE20K, 512x512 crops, 8 GPUs x 2 images;
# variant configs set the backbone.
_base_ = [
    './models/fpn_twins.py', 'mmseg::_base_/datasets/ade20k.py',
    './schedules/seg_fpn_80k.py', 'mmseg::_base_/default_runtime.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
