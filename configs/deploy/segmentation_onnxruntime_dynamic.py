# Semantic segmentation (UPerNet, Semantic FPN) for ONNX Runtime at any input size: input
# (N, 3, H, W) normalised as the model config's data preprocessor says, output (N, 1, H, W)
# class indices.
_base_ = ['./_base_/onnxruntime.py']
onnx_config = dict(
    output_names=['output'],
    dynamic_axes={
        'input': {0: 'batch', 2: 'height', 3: 'width'},
        'output': {0: 'batch', 2: 'height', 3: 'width'},
    })
codebase_config = dict(
    type='mmseg', task='Segmentation', with_argmax=True, module={{_base_.mmtwins_support}})
