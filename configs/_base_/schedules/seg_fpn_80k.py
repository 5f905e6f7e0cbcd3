# Official Semantic FPN schedule: AdamW lr 1e-4, wd 1e-4, poly (power 0.9) down to 1e-6 over
# 80k iters; batch 16. (mmseg's Twins FPN configs leave eta_min at the base lr: no decay.)
_base_ = ['mmseg::_base_/schedules/schedule_80k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=80000, by_epoch=False)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
# mmtwins' atomic checkpoints (mmseg's checkpoint hook is set in its schedules): written to a
# temporary file and renamed when complete, also under mmseg's own tools/train.py
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
