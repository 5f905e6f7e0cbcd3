# Official Twins 1x detection schedule: AdamW, 12 epochs, warm-up 500 iters (ratio 0.001),
# lr x0.1 at epochs 8 and 11; total batch 16 (8 GPUs x 2 images).
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=16)
