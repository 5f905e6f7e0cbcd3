# UPerNet Twins-SVT-S with layer-wise learning-rate decay: the first patch embedding learns at
# lr x 0.9^21, block k at lr x 0.9^(21-k), the heads at lr. Norms and PEGs get no weight decay.
_base_ = ['../upernet_twins_svt_s_ade20k.py']
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    constructor='TwinsLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9))
