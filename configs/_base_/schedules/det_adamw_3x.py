# Official Twins 3x detection schedule: AdamW lr 1e-4, wd 0.05 except norms and PEGs,
# 36 epochs, warm-up 500 iters, lr x0.1 at epochs 27 and 33; total batch 16.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33],
         gamma=0.1)
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    # mmtwins names: every LayerNorm has 'norm' in its name, PEGs are 'stages.{i}.peg'
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0),
                                    '.peg.': dict(decay_mult=0.0)}))
auto_scale_lr = dict(enable=False, base_batch_size=16)
