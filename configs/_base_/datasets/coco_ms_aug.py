# DETR-style multi-scale augmentation of the official Twins 3x recipe (both detectors):
# flip, then either a short side of 480..800 (step 32, long side <= 1333), or a 400/500/600
# resize, a random 384-600 crop, and the same multi-scale resize.
ms_scales = [(480 + 32 * i, 1333) for i in range(11)]
ms_aug = dict(
    type='RandomChoice',
    transforms=[
        [dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True)],
        [
            dict(type='RandomChoiceResize', scales=[(400, 1333), (500, 1333), (600, 1333)],
                 keep_ratio=True),
            dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600),
                 allow_negative_crop=True),
            dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True),
        ],
    ])
