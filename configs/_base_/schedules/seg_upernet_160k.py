# Official Twins UPerNet schedule: AdamW lr 6e-5, wd 0.01 except norms and PEGs; linear
# warm-up over 1500 iters from 1e-6, then poly (power 1) to 0 at 160k; batch 16.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    # mmtwins names: every LayerNorm has 'norm' in its name, PEGs are 'stages.{i}.peg'
    # (mmseg's configs say 'pos_block', which matches nothing in mmseg's own backbone)
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0),
                                    '.peg.': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
# mmtwins' atomic checkpoints (mmseg's checkpoint hook is set in its schedules): written to a
# temporary file and renamed when complete, also under mmseg's own tools/train.py
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='mmtwins_atomic')))
